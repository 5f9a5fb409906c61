// safetensors files: an 8-byte little-endian header size N, N bytes of
// UTF-8 JSON {"name": {"dtype", "shape", "data_offsets": [begin, end]}, ...,
// "__metadata__": {string: string}}, then the byte buffer the offsets point
// into. The reader enforces the format's own rules (those of the Rust
// reference): N at most 100 MB, tensors exactly tiling the buffer, sizes
// matching shape × dtype. The writer lays tensors out as the reference does.
import {
  checkBytes,
  decodeUtf8,
  describe,
  elementCount,
  fail,
  hasLoneSurrogate,
  isPlainObject,
  lookup,
  parseJson,
  readLittleEndian,
  readTable,
  shapeText,
  typedArrayName,
  writeLittleEndian,
} from './common.js';

const MAX_HEADER_BYTES = 100_000_000;
const METADATA = '__metadata__';

const READ = readTable({
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  F64: 'float64',
  U8: 'uint8',
  I8: 'int8',
  U16: 'uint16',
  I16: 'int16',
});

// Typed array → dtype, in the reference writer's layout order: largest
// alignment first (its Dtype enum, descending), so every tensor starts at a
// multiple of its element size.
const WRITE = {
  Float64Array: 'F64',
  Float32Array: 'F32',
  Uint16Array: 'U16',
  Int16Array: 'I16',
  Int8Array: 'I8',
  Uint8Array: 'U8',
};
const LAYOUT_RANK = Object.fromEntries(Object.values(WRITE).map((d, i) => [d, i]));
const DTYPE_NAMES = Object.fromEntries(Object.entries(READ).map(([code, r]) => [r.dtype, code]));

const tensorName = (name) => `tensor ${JSON.stringify(name)}`;

function checkTensorInfo(name, info, bufferLength) {
  const what = `safetensors header: ${tensorName(name)}`;
  if (hasLoneSurrogate(name)) {
    fail(Error, `safetensors header: a tensor name is not valid Unicode: ${JSON.stringify(name)}`);
  }
  if (!isPlainObject(info)) {
    fail(Error, `${what} must be an object {dtype, shape, data_offsets}, got ${describe(info)}`);
  }
  for (const field of ['dtype', 'shape', 'data_offsets']) {
    if (!(field in info)) fail(Error, `${what} has no "${field}"`);
  }
  const read = lookup(READ, info.dtype);
  if (!read) {
    fail(Error, `${what} has dtype ${describe(info.dtype)}, which is not supported; supported: ${Object.keys(READ).join(', ')}`);
  }
  const count = elementCount(info.shape, `${what}: shape`);
  const offsets = info.data_offsets;
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    fail(Error, `${what}: data_offsets must be [begin, end], two non-negative integers, got ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets;
  if (end < begin) fail(Error, `${what}: data_offsets [${begin}, ${end}] end before they begin`);
  const bytes = count * read.Type.BYTES_PER_ELEMENT;
  if (end - begin !== bytes) {
    fail(
      Error,
      `${what}: shape ${shapeText(info.shape)} of ${info.dtype} needs ${bytes} bytes, but data_offsets [${begin}, ${end}] span ${end - begin}`,
    );
  }
  if (end > bufferLength) {
    fail(Error, `${what}: data_offsets [${begin}, ${end}] go past the end of the data buffer (${bufferLength} bytes); the file may be truncated`);
  }
  return { name, begin, end, read, shape: info.shape };
}

function checkMetadata(metadata) {
  if (!isPlainObject(metadata)) {
    fail(Error, `safetensors header: "${METADATA}" must be an object of strings, got ${describe(metadata)}`);
  }
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') {
      fail(Error, `safetensors header: "${METADATA}" value for ${JSON.stringify(key)} must be a string, got ${describe(value)}`);
    }
  }
  return Object.fromEntries(Object.entries(metadata));
}

// The tensors, sorted by position, must tile the buffer exactly: no gap, no
// overlap, nothing left over at the end.
function checkLayout(entries, bufferLength) {
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let position = 0;
  let previous;
  for (const e of entries) {
    if (e.begin < position) {
      fail(
        Error,
        `safetensors header: ${tensorName(e.name)} (data_offsets [${e.begin}, ${e.end}]) overlaps ${tensorName(previous.name)} ([${previous.begin}, ${previous.end}])`,
      );
    }
    if (e.begin > position) {
      fail(Error, `safetensors header: bytes ${position}..${e.begin} of the data buffer belong to no tensor (a gap before ${tensorName(e.name)})`);
    }
    position = e.end;
    previous = e;
  }
  if (position !== bufferLength) {
    fail(
      Error,
      `safetensors file has ${bufferLength - position} bytes after the last tensor's data (the tensors cover ${position} of ${bufferLength} bytes)`,
    );
  }
}

/**
 * Reads a safetensors file. Returns { tensors: { name: { data, dtype, shape } },
 * metadata }: data are fresh typed arrays (float16, bfloat16 and float64
 * widened to Float32Array), metadata the "__metadata__" strings ({} if none).
 */
export function readSafetensors(bytes) {
  bytes = checkBytes(bytes, 'readSafetensors(bytes)');
  if (bytes.length < 8) {
    fail(Error, `safetensors file is truncated: ${bytes.length} bytes, less than the 8-byte header size`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, 8);
  const [low, high] = [view.getUint32(0, true), view.getUint32(4, true)];
  if (high !== 0 || low > MAX_HEADER_BYTES) {
    fail(
      RangeError,
      `safetensors header size ${high * 2 ** 32 + low} is over the format's limit of ${MAX_HEADER_BYTES} bytes; not a safetensors file?`,
    );
  }
  const dataStart = 8 + low;
  if (dataStart > bytes.length) {
    fail(Error, `safetensors file is truncated: the header says it is ${low} bytes long, but only ${bytes.length - 8} bytes follow`);
  }
  const text = decodeUtf8(bytes.subarray(8, dataStart), 'safetensors header');
  if (text[0] !== '{') fail(Error, 'safetensors header must be a JSON object starting with "{"');
  const header = parseJson(text, 'safetensors header');
  if (!isPlainObject(header)) fail(Error, `safetensors header must be a JSON object, got ${describe(header)}`);

  const bufferLength = bytes.length - dataStart;
  let metadata = {};
  const entries = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === METADATA) metadata = checkMetadata(info);
    else entries.push(checkTensorInfo(name, info, bufferLength));
  }
  checkLayout(entries, bufferLength);

  const tensors = entries.map(({ name, begin, end, read, shape }) => {
    let data = readLittleEndian(bytes, dataStart + begin, dataStart + end, read.Type);
    if (read.widen) data = read.widen(data);
    return [name, { data, dtype: read.dtype, shape: [...shape] }];
  });
  return { tensors: Object.fromEntries(tensors), metadata };
}

function checkTensorForWrite(name, tensor) {
  const what = `writeSafetensors: ${tensorName(name)}`;
  if (name === '' || name === METADATA) {
    fail(TypeError, `writeSafetensors: a tensor cannot be named ${JSON.stringify(name)}`);
  }
  if (hasLoneSurrogate(name)) {
    fail(TypeError, `writeSafetensors: tensor name ${JSON.stringify(name)} is not valid Unicode`);
  }
  if (!isPlainObject(tensor)) fail(TypeError, `${what} must be an object { data, shape }, got ${describe(tensor)}`);
  for (const key of Object.keys(tensor)) {
    if (!['data', 'shape', 'dtype'].includes(key)) {
      fail(TypeError, `${what} has an unknown field "${key}"; the fields are data, shape, dtype`);
    }
  }
  const { data } = tensor;
  const dtype = lookup(WRITE, typedArrayName(data));
  if (!dtype) {
    fail(TypeError, `${what}: data must be one of ${Object.keys(WRITE).join(', ')}; got ${describe(data)}`);
  }
  // dtype is optional; given (e.g. by passing readSafetensors() output back),
  // it must be what data will be written as, so that nothing changes type
  // silently (float16 data was widened to float32 when read).
  if (tensor.dtype !== undefined && lookup(DTYPE_NAMES, tensor.dtype) !== dtype) {
    fail(
      TypeError,
      `${what}: dtype ${describe(tensor.dtype)} does not match its ${typedArrayName(data)} data (written as ${READ[dtype].dtype}); drop dtype or convert the data`,
    );
  }
  const shape = tensor.shape ?? [data.length];
  const count = elementCount(shape, `${what}: shape`);
  if (count !== data.length) {
    fail(RangeError, `${what}: shape ${shapeText(shape)} has ${count} elements but data has ${data.length}`);
  }
  return { name, dtype, shape: [...shape], data };
}

// Code-point (= UTF-8 byte) order, as Rust sorts names; JS's < compares
// UTF-16 units, which differs above U+FFFF.
function compareNames(a, b) {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i += 1) {
    const d = x[i].codePointAt(0) - y[i].codePointAt(0);
    if (d) return d;
  }
  return x.length - y.length;
}

/**
 * Writes tensors ({ name: { data, shape } }, shape defaulting to
 * [data.length]) and optional metadata ({ string: string }) as a
 * safetensors file, laid out as the reference writer does it.
 */
export function writeSafetensors(tensors, metadata) {
  if (!isPlainObject(tensors)) {
    fail(TypeError, `writeSafetensors: tensors must be an object { name: { data, shape } }, got ${describe(tensors)}`);
  }
  const entries = Object.entries(tensors).map(([name, t]) => checkTensorForWrite(name, t));
  entries.sort((a, b) => LAYOUT_RANK[a.dtype] - LAYOUT_RANK[b.dtype] || compareNames(a.name, b.name));

  const parts = [];
  if (metadata !== undefined) {
    if (!isPlainObject(metadata)) {
      fail(TypeError, `writeSafetensors: metadata must be an object of strings, got ${describe(metadata)}`);
    }
    const pairs = Object.entries(metadata).map(([key, value]) => {
      if (typeof value !== 'string') {
        fail(TypeError, `writeSafetensors: metadata value for ${JSON.stringify(key)} must be a string, got ${describe(value)}`);
      }
      if (hasLoneSurrogate(key) || hasLoneSurrogate(value)) {
        fail(TypeError, `writeSafetensors: metadata entry ${JSON.stringify(key)} is not valid Unicode`);
      }
      return `${JSON.stringify(key)}:${JSON.stringify(value)}`;
    });
    parts.push(`"${METADATA}":{${pairs.join(',')}}`);
  }
  let offset = 0;
  for (const e of entries) {
    e.begin = offset;
    offset += e.data.byteLength;
    const info = `{"dtype":"${e.dtype}","shape":[${e.shape.join(',')}],"data_offsets":[${e.begin},${offset}]}`;
    parts.push(`${JSON.stringify(e.name)}:${info}`);
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const headerLength = Math.ceil(json.length / 8) * 8; // padded with spaces: data starts 8-aligned
  if (headerLength > MAX_HEADER_BYTES) {
    fail(RangeError, `writeSafetensors: the header would be ${headerLength} bytes, over the format's limit of ${MAX_HEADER_BYTES}`);
  }
  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setUint32(0, headerLength, true);
  out.fill(0x20, 8, 8 + headerLength);
  out.set(json, 8);
  for (const e of entries) writeLittleEndian(out, 8 + headerLength + e.begin, e.data);
  return out;
}
