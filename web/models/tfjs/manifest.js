// TF.js weights manifests: each entry's dtype, shape and (optional)
// quantization, where its bytes lie in the group's shards, and its values
// as tfjs-core decodes them.
import { describe, elementCount, fail, float16ToFloat32, isPlainObject, readLittleEndian } from '../../formats/common.js';
import { baseName, requireFile } from '../files.js';

// tfjs-converter's default --weight_shard_size_bytes.
export const SHARD_BYTES = 4 * 1024 * 1024;

// Bytes per element of the manifest dtypes tfjs-core decodes ('string' has
// none: each element is a uint32 LE byte length and then that many bytes).
const DTYPE_BYTES = { float32: 4, int32: 4, bool: 1, complex64: 8 };
// Bytes per element of the stored codes when an entry has `quantization`.
const QUANTIZED_BYTES = { uint8: 1, uint16: 2, float16: 2 };
const STRING_LENGTH_BYTES = 4;

// ---------------------------------------------------------------------------
// Reading the manifest.

// "model.json: weight "a/kernel"" — every message names both.
export const where = (file, name) => (name === undefined ? file : `${file}: weight ${describe(name)}`);

function checkQuantization(q, dtype, what) {
  if (!isPlainObject(q)) fail(TypeError, `${what} has a quantization that is not an object (${describe(q)})`);
  if (!Object.hasOwn(QUANTIZED_BYTES, q.dtype)) {
    fail(RangeError, `${what} has the quantization dtype ${describe(q.dtype)}; TF.js knows 'uint8', 'uint16' and 'float16'`);
  }
  if (q.dtype === 'float16') {
    if (dtype !== 'float32') fail(RangeError, `${what} is float16-quantized, which TF.js allows for float32 only, not ${describe(dtype)}`);
    return { dtype: 'float16', scale: undefined, min: undefined };
  }
  if (dtype !== 'float32' && dtype !== 'int32') {
    fail(RangeError, `${what} is ${q.dtype}-quantized, which TF.js allows for float32 and int32 only, not ${describe(dtype)}`);
  }
  for (const key of ['scale', 'min']) {
    if (typeof q[key] !== 'number' || !Number.isFinite(q[key])) {
      fail(RangeError, `${what} has a ${q.dtype} quantization whose ${key} is ${describe(q[key])}, not a finite number`);
    }
  }
  return { dtype: q.dtype, scale: q.scale, min: q.min };
}

// One manifest entry, checked, without its place in the shards yet.
export function readEntry(entry, file, index) {
  if (!isPlainObject(entry)) fail(TypeError, `${file}: ${index} is ${describe(entry)}, not a weight entry object`);
  const { name, shape, dtype } = entry;
  if (typeof name !== 'string') fail(TypeError, `${file}: ${index} has the name ${describe(name)}, not a string`);
  const what = where(file, name);
  if (typeof dtype !== 'string' || (dtype !== 'string' && !Object.hasOwn(DTYPE_BYTES, dtype))) {
    fail(RangeError, `${what} has the unknown dtype ${describe(dtype)} (TF.js stores float32, int32, bool, string and complex64)`);
  }
  const count = elementCount(shape, `${what}: shape`);
  const quantized = Object.hasOwn(entry, 'quantization') ? checkQuantization(entry.quantization, dtype, what) : null;
  return {
    entry,
    name,
    shape: shape.slice(),
    // float16 storage is reported as its own dtype: the driver sees what the bytes hold.
    dtype: quantized?.dtype === 'float16' ? 'float16' : dtype,
    count,
    quantized,
    stride: quantized ? QUANTIZED_BYTES[quantized.dtype] : DTYPE_BYTES[dtype], // undefined for strings
  };
}

// A group's shards read as one byte range, the way tfjs concatenates them;
// reads may cross shard boundaries.
export function groupReader(shards) {
  let start = 0;
  const parts = shards.map((entry) => {
    const part = { entry, start };
    start += entry.size;
    return part;
  });
  const size = start;
  async function read(offset, length) {
    const out = new Uint8Array(length);
    for (const { entry, start: at } of parts) {
      const from = Math.max(offset, at);
      const to = Math.min(offset + length, at + entry.size);
      if (from < to) out.set(await entry.slice(from - at, to - from), from - offset);
    }
    return out;
  }
  return { size, read, parts };
}

// The group's shards and their sizes, for messages.
export function shardList(reader) {
  if (reader.parts.length === 0) return 'no shards';
  const shown = reader.parts.slice(-8).map((p) => `${describe(p.entry.name)}: ${p.entry.size} bytes`);
  return `${reader.parts.length > 8 ? '…, ' : ''}${shown.join(', ')}; ${reader.size} in all`;
}

// The byte length of a string weight: walk its uint32 length prefixes,
// through a 64 KiB window so a vocabulary of short strings is not one read
// per string. Each element takes at least 4 bytes, so an absurd count fails
// before the walk.
const STRING_WINDOW = 65536;
export async function stringByteLength(reader, offset, w, shortError) {
  if (w.count * STRING_LENGTH_BYTES > reader.size - offset) shortError(w.count * STRING_LENGTH_BYTES);
  let window = new Uint8Array(0);
  let windowStart = offset;
  let length = 0;
  for (let i = 0; i < w.count; i += 1) {
    const at = offset + length;
    if (at + STRING_LENGTH_BYTES > reader.size) shortError(length + STRING_LENGTH_BYTES);
    if (at < windowStart || at + STRING_LENGTH_BYTES > windowStart + window.length) {
      windowStart = at;
      window = await reader.read(at, Math.min(STRING_WINDOW, reader.size - at));
    }
    const prefix = new DataView(window.buffer, window.byteOffset + (at - windowStart), STRING_LENGTH_BYTES);
    length += STRING_LENGTH_BYTES + prefix.getUint32(0, true);
    if (offset + length > reader.size) shortError(length);
  }
  return length;
}

// The shard files of one group, by the manifest's paths (relative URLs:
// only the base name is looked up, percent-escapes undone when needed).
export function groupShards(fileSet, group, g, file) {
  if (!isPlainObject(group)) fail(TypeError, `${file}: weightsManifest[${g}] is ${describe(group)}, not an object`);
  const { paths, weights } = group;
  if (!Array.isArray(paths)) fail(TypeError, `${file}: weightsManifest[${g}].paths must be an array of file names, got ${describe(paths)}`);
  paths.forEach((p, i) => {
    if (typeof p !== 'string' || p === '') fail(TypeError, `${file}: weightsManifest[${g}].paths[${i}] must be a file name, got ${describe(p)}`);
  });
  if (!Array.isArray(weights)) fail(TypeError, `${file}: weightsManifest[${g}].weights must be an array, got ${describe(weights)}`);
  // Name a weight the missing shard holds, so the message says what is lost.
  const more = weights.length > 1 ? ` and ${weights.length - 1} more` : '';
  const first = typeof weights[0]?.name === 'string' ? `, holding weight ${describe(weights[0].name)}${more}` : '';
  return paths.map((path) => {
    const base = baseName(path);
    if (!fileSet.has(base)) {
      let decoded;
      try {
        decoded = decodeURIComponent(base);
      } catch {
        decoded = base;
      }
      if (fileSet.has(decoded)) return fileSet.get(decoded);
    }
    return requireFile(fileSet, base, `${file} (weightsManifest[${g}]${first})`);
  });
}

// ---------------------------------------------------------------------------
// Values.

// The float32 values tfjs would hand the model: codes times scale plus min
// (in double, then rounded to float32, as tfjs-core does), float16 widened.
export function decodeFloats(bytes, w) {
  const q = w.quantized;
  if (!q) return readLittleEndian(bytes, 0, bytes.length, Float32Array);
  if (q.dtype === 'float16') return float16ToFloat32(readLittleEndian(bytes, 0, bytes.length, Uint16Array));
  const codes = q.dtype === 'uint8' ? bytes : readLittleEndian(bytes, 0, bytes.length, Uint16Array);
  const out = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i += 1) out[i] = codes[i] * q.scale + q.min;
  return out;
}

export const isFloatWeight = (w) => w.dtype === 'float32' || w.dtype === 'float16';
