// The files of a model as one FileSet: a Map from file name to an entry
// { name, size, bytes(), slice(offset, length) } that reads lazily, so a
// multi-gigabyte external-data file given as a Blob (a dropped File, or
// Node's fs.openAsBlob) is read one tensor at a time, never whole.
import { describe, fail } from '../formats/common.js';

const isBlob = (value) => typeof Blob !== 'undefined' && value instanceof Blob;
// Marks the entries of a FileSet, which a new set may take as they are.
const ENTRY = Symbol('wasmquant file entry');

function bytesEntry(name, bytes) {
  return {
    [ENTRY]: true,
    name,
    size: bytes.length,
    bytes: async () => bytes,
    slice: async (offset, length) => bytes.subarray(offset, offset + length),
  };
}

function blobEntry(name, blob) {
  return {
    [ENTRY]: true,
    name,
    size: blob.size,
    bytes: async () => new Uint8Array(await blob.arrayBuffer()),
    slice: async (offset, length) => new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer()),
  };
}

function entryOf(name, value) {
  if (value?.[ENTRY] && value.name === name) return value;
  if (isBlob(value)) return blobEntry(name, value);
  if (value instanceof ArrayBuffer) return bytesEntry(name, new Uint8Array(value));
  // A plain Uint8Array view also of a Node Buffer, whose slice() differs.
  if (ArrayBuffer.isView(value)) return bytesEntry(name, new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
  return fail(TypeError, `file "${name}" must be a Uint8Array, an ArrayBuffer or a Blob, got ${describe(value)}`);
}

// The last path component: "models/a/model.onnx" and a File's name alike.
export function baseName(name) {
  return String(name).split(/[\\/]/).pop();
}

// files: { name: bytes | Blob }, a Map of the same (or of a FileSet's entries), a FileList or an array
// of Files (their own names), or a single named File.
export function toFileSet(files) {
  const set = new Map();
  const add = (name, value) => {
    if (typeof name !== 'string' || name === '') fail(TypeError, `every file needs a name, got ${describe(name)}`);
    const key = baseName(name);
    if (set.has(key)) fail(RangeError, `two files are named "${key}"`);
    set.set(key, entryOf(key, value));
  };
  if (files === null || typeof files !== 'object') {
    fail(TypeError, `files must map file names to bytes (or be a FileList or an array of Files), got ${describe(files)}`);
  }
  if (isBlob(files)) {
    add(files.name, files);
  } else if (Array.isArray(files) || (typeof FileList !== 'undefined' && files instanceof FileList)) {
    for (const file of files) {
      if (!isBlob(file)) fail(TypeError, `an array of files must hold Files, got ${describe(file)}`);
      add(file.name, file);
    }
  } else if (files instanceof Map) {
    for (const [name, value] of files) add(name, value);
  } else {
    for (const [name, value] of Object.entries(files)) add(name, value);
  }
  if (set.size === 0) fail(RangeError, 'no files were given');
  return set;
}

// The entry named `name`, or a message that names what is missing and why.
export function requireFile(set, name, neededBy) {
  const entry = set.get(baseName(name));
  if (!entry) {
    fail(RangeError, `${neededBy} needs the file "${name}", which was not given (files: ${[...set.keys()].join(', ')})`);
  }
  return entry;
}
