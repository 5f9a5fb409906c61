// Opening a dropped file: .npy, .safetensors or a raw float32 .bin.
import { formatBytes } from '../format.js';
import { describeSource, fail, loadedSource, replaceSource, reports, tensorOf } from './source.js';

export const READ_CHUNK = 16 << 20; // bytes per File.slice while reading

export function sniff(bytes, fileName) {
  if (bytes.length >= 6 && bytes[0] === 0x93 && String.fromCharCode(...bytes.subarray(1, 6)) === 'NUMPY') return 'npy';
  const ext = /\.([a-z0-9]+)$/i.exec(fileName)?.[1]?.toLowerCase();
  if (ext === 'npy') return 'npy';
  if (ext === 'safetensors' || ext === 'st') return 'safetensors';
  if (bytes.length >= 9 && bytes[8] === 0x7b && bytes[4] === 0 && bytes[5] === 0 && bytes[6] === 0 && bytes[7] === 0) {
    return 'safetensors';
  }
  if (ext === 'bin' || ext === 'raw' || ext === 'f32') return 'bin';
  return fail(`"${fileName}" is not a file this page reads: give a .npy, a .safetensors or a raw float32 .bin (with its shape)`);
}

export function parseShape(text, count) {
  const t = String(text ?? '').trim();
  if (t === '') return [count];
  const parts = t
    .replace(/^[[(]|[\])]$/g, '')
    .split(/[\s,x×]+/)
    .filter(Boolean);
  const shape = parts.map(Number);
  if (shape.length === 0 || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    fail(`shape "${t}" is not a list of non-negative integers such as 64, 3, 3, 3`);
  }
  const product = shape.reduce((a, b) => a * b, 1);
  if (product !== count) {
    fail(
      `shape [${shape.join(', ')}] has ${product.toLocaleString('en-US')} elements, but the file holds ${count.toLocaleString('en-US')} float32 values`,
    );
  }
  return shape;
}

export async function readAll(file, progress) {
  let bytes;
  try {
    bytes = new Uint8Array(file.size);
  } catch {
    fail(`"${file.name}" (${formatBytes(file.size)}) does not fit in this tab's memory`);
  }
  for (let at = 0; at < file.size; at += READ_CHUNK) {
    const end = Math.min(file.size, at + READ_CHUNK);
    bytes.set(new Uint8Array(await file.slice(at, end).arrayBuffer()), at);
    progress(end / file.size, `Reading ${file.name}`);
  }
  if (file.size === 0) progress(1, `Reading ${file.name}`);
  return bytes;
}

/**
 * Reads a dropped or picked File (npy, safetensors or raw float32 .bin with
 * `shape`). On any error the previous file stays loaded.
 */
export async function openFile({ api, progress }, file, { shape } = {}) {
  if (!file || typeof file.slice !== 'function') fail('no file was given');
  if (file.size === 0) fail(`"${file.name}" is empty (0 bytes)`);
  const head = new Uint8Array(await file.slice(0, 16).arrayBuffer());
  const kind = sniff(head, file.name);
  if (kind === 'bin' && file.size % 4 !== 0) {
    fail(`"${file.name}" has ${file.size} bytes, not a whole number of float32 values (4 bytes each)`);
  }
  if (kind === 'bin') parseShape(shape, file.size / 4); // before reading hundreds of MB
  const bytes = await readAll(file, progress);
  progress(1, `Parsing ${file.name}`);
  const tensors = new Map();
  let metadata = {};
  if (kind === 'npy') {
    const base = file.name.replace(/\.npy$/i, '') || 'tensor';
    tensors.set(base, tensorOf(base, api.readNpy(bytes)));
  } else if (kind === 'safetensors') {
    const read = api.readSafetensors(bytes);
    metadata = read.metadata;
    for (const [name, t] of Object.entries(read.tensors)) tensors.set(name, tensorOf(name, t));
    if (tensors.size === 0) fail(`"${file.name}" holds no tensors`);
  } else {
    const data = new Float32Array(bytes.buffer, 0, bytes.length / 4);
    const base = file.name.replace(/\.[^.]*$/, '') || 'tensor';
    tensors.set(base, { name: base, dtype: 'float32', shape: parseShape(shape, data.length), data, bytes: bytes.length });
  }
  return replaceSource({ name: file.name, kind, tensors, metadata });
}

/** A raw .bin seen with another shape. */
export function reshape(context, name, shape) {
  const t = loadedSource()?.tensors.get(name);
  if (!t) fail(`no tensor "${name}" is loaded`);
  if (loadedSource().kind !== 'bin') fail('only a raw .bin file takes a shape; .npy and .safetensors carry theirs');
  t.shape = parseShape(shape, t.data.length);
  reports.clear();
  return describeSource();
}
