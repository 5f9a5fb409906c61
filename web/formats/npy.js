// NumPy .npy files, versions 1.0, 2.0 and 3.0:
//   "\x93NUMPY", major, minor, header length (u16 LE in 1.0, u32 LE after),
//   a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
//   padded with spaces and ending in '\n', then the raw array data.
// The header is parsed by a small strict parser for exactly that literal
// grammar (never eval), and every length is checked against the file before
// anything is allocated.
import {
  checkBytes,
  decodeUtf8,
  describe,
  elementCount,
  fail,
  lookup,
  readLittleEndian,
  readTable,
  shapeText,
  typedArrayName,
  writeLittleEndian,
} from './common.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const ALIGN = 64; // numpy aligns the data start to 64 bytes
const GROWTH_AXIS_MAX_DIGITS = 21; // numpy leaves this much room to grow the first axis

// kind + item size → how to read it.
const READ = readTable({
  f4: 'float32',
  f2: 'float16',
  f8: 'float64',
  u1: 'uint8',
  i1: 'int8',
  u2: 'uint16',
  i2: 'int16',
});

const WRITE = {
  Float32Array: '<f4',
  Float64Array: '<f8',
  Uint8Array: '|u1',
  Int8Array: '|i1',
  Uint16Array: '<u2',
  Int16Array: '<i2',
};

const SUPPORTED = "float32 '<f4', float16 '<f2', float64 '<f8', uint8 '|u1', int8 '|i1', uint16 '<u2', int16 '<i2'";

const OTHER_KINDS = {
  b: 'bool',
  O: 'object',
  U: 'unicode string',
  S: 'bytes',
  a: 'bytes',
  V: 'void',
  M: 'datetime64',
  m: 'timedelta64',
};

// numpy's name for a descr we refuse, so the error says what the file holds.
function numpyName(kind, size) {
  const bits = Number(size) * 8;
  const sized = { f: 'float', i: 'int', u: 'uint', c: 'complex' }[kind];
  if (sized && bits) return `${sized}${bits}`;
  return lookup(OTHER_KINDS, kind);
}

function dtypeOf(descr) {
  const m = /^([<>|=]?)([a-zA-Z])(\d*)$/.exec(descr);
  const read = m && lookup(READ, `${m[2]}${m[3]}`);
  if (!read) {
    const name = m && numpyName(m[2], m[3]);
    fail(Error, `.npy dtype ${describe(descr)}${name ? ` (${name})` : ''} is not supported; supported: ${SUPPORTED}`);
  }
  // '=' and no prefix mean "the writer's native order", which numpy itself
  // never puts in a file; read them as little-endian, as numpy does on
  // every common platform. Only '>' is known to be big-endian.
  if (m[1] === '>' && read.Type.BYTES_PER_ELEMENT > 1) {
    fail(Error, `.npy dtype ${describe(descr)} is big-endian (${read.dtype}); save it little-endian, e.g. arr.astype('<${m[2]}${m[3]}')`);
  }
  return read;
}

// --- The header: a Python dict literal with string keys and values that
// are strings, True/False or tuples of integers.

class HeaderParser {
  constructor(text, allowLongSuffix) {
    this.text = text;
    this.pos = 0;
    this.allowLongSuffix = allowLongSuffix; // Python 2 wrote 3L for long ints
  }

  error(message) {
    const shown = this.text.length > 120 ? `${this.text.slice(0, 120)}…` : this.text;
    return fail(Error, `.npy header ${JSON.stringify(shown)}: ${message} (at character ${this.pos})`);
  }

  skipSpace() {
    while (' \t\r\n'.includes(this.text[this.pos] ?? 'x')) this.pos += 1;
  }

  expect(c) {
    this.skipSpace();
    if (this.text[this.pos] !== c) this.error(`expected '${c}'`);
    this.pos += 1;
  }

  peek() {
    this.skipSpace();
    return this.text[this.pos];
  }

  string() {
    const quote = this.peek();
    if (quote !== "'" && quote !== '"') this.error('expected a quoted string');
    const end = this.text.indexOf(quote, this.pos + 1);
    if (end < 0) this.error('unterminated string');
    const s = this.text.slice(this.pos + 1, end);
    if (/[\\\n]/.test(s)) this.error('escape sequences and line breaks in strings are not supported');
    this.pos = end + 1;
    return s;
  }

  integer() {
    const m = /^(-?)(\d+)(L?)/.exec(this.text.slice(this.pos, this.pos + 40));
    if (!m || (m[3] && !this.allowLongSuffix)) this.error('expected a non-negative integer');
    if (m[1]) this.error('shape entries must not be negative');
    if (m[2].length > 1 && m[2][0] === '0') this.error('integers must not have leading zeros');
    this.pos += m[0].length;
    const n = Number(m[2]);
    if (!Number.isSafeInteger(n)) fail(RangeError, `.npy shape entry ${m[2]} is too large`);
    return n;
  }

  // (), (3,), (2, 3) or (2, 3,); (3) is just 3 in Python, not a tuple.
  tuple() {
    this.expect('(');
    const items = [];
    let trailingComma = false;
    while (this.peek() !== ')') {
      items.push(this.integer());
      trailingComma = this.peek() === ',';
      if (trailingComma) this.pos += 1;
      else if (this.peek() !== ')') this.error("expected ',' or ')' in the shape tuple");
    }
    this.pos += 1;
    if (items.length === 1 && !trailingComma) this.error(`the shape (${items[0]}) is not a tuple; numpy writes (${items[0]},)`);
    return items;
  }

  value(key) {
    const c = this.peek();
    if (c === "'" || c === '"') return this.string();
    if (c === '(') return this.tuple();
    for (const [word, value] of [
      ['True', true],
      ['False', false],
    ]) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return value;
      }
    }
    if (key === 'descr' && c === '[') this.error('structured (record) dtypes are not supported');
    return this.error(`unsupported value for '${key}'`);
  }

  dict() {
    this.expect('{');
    const entries = new Map();
    while (this.peek() !== '}') {
      const key = this.string();
      if (entries.has(key)) this.error(`the key '${key}' appears twice`);
      this.expect(':');
      entries.set(key, this.value(key));
      if (this.peek() === ',') this.pos += 1;
      else if (this.peek() !== '}') this.error("expected ',' or '}'");
    }
    this.pos += 1;
    this.skipSpace();
    if (this.pos !== this.text.length) this.error("unexpected text after '}'");
    return entries;
  }
}

function parseHeader(text, version) {
  if (!text.endsWith('\n')) {
    fail(Error, '.npy header does not end with a newline; the file is damaged or not a .npy file');
  }
  const entries = new HeaderParser(text, version < 3).dict();
  const keys = [...entries.keys()].sort().join(', ');
  if (keys !== 'descr, fortran_order, shape') {
    fail(Error, `.npy header must have exactly the keys descr, fortran_order, shape; it has ${keys || 'none'}`);
  }
  const descr = entries.get('descr');
  const fortranOrder = entries.get('fortran_order');
  const shape = entries.get('shape');
  if (typeof descr !== 'string') fail(Error, `.npy header: 'descr' must be a string, got ${describe(descr)}`);
  if (typeof fortranOrder !== 'boolean') fail(Error, `.npy header: 'fortran_order' must be True or False`);
  if (!Array.isArray(shape)) fail(Error, `.npy header: 'shape' must be a tuple of integers, got ${describe(shape)}`);
  return { descr, fortranOrder, shape };
}

// Fortran (column-major) data of `shape` → the same array in C order.
function fortranToC(data, fullShape) {
  // Axes of length 1 change neither layout; without them at most 31 axes
  // remain (2^31 elements), so a hostile (1, 1, …, 1) shape costs nothing.
  const shape = fullShape.filter((d) => d !== 1);
  if (shape.length < 2 || data.length === 0) return data;
  const out = new data.constructor(data.length);
  const n = shape.length;
  const strides = []; // Fortran strides, in elements
  for (let k = 0, s = 1; k < n; k += 1) {
    strides.push(s);
    s *= shape[k];
  }
  // Walk the output in C order (last index fastest) like an odometer,
  // keeping the matching Fortran offset up to date.
  const index = new Array(n).fill(0);
  const last = shape[n - 1];
  const lastStride = strides[n - 1];
  let from = 0;
  for (let to = 0; to < out.length;) {
    for (let j = 0; j < last; j += 1) out[to++] = data[from + j * lastStride];
    let k = n - 2;
    for (; k >= 0; k -= 1) {
      index[k] += 1;
      from += strides[k];
      if (index[k] < shape[k]) break;
      from -= index[k] * strides[k];
      index[k] = 0;
    }
    if (k < 0) break;
  }
  return out;
}

/**
 * Reads a .npy file. Returns { data, dtype, shape, fortranOrder: false }:
 * data is a fresh typed array in C order (Fortran-order files are
 * transposed), float16/float64 widened to a Float32Array.
 */
export function readNpy(bytes) {
  bytes = checkBytes(bytes, 'readNpy(bytes)');
  if (bytes.length < 10) fail(Error, `.npy file is truncated: ${bytes.length} bytes, less than the 10-byte preamble`);
  if (!MAGIC.every((b, i) => bytes[i] === b)) fail(Error, 'not a .npy file: it does not start with "\\x93NUMPY"');
  const [major, minor] = [bytes[6], bytes[7]];
  if (![1, 2, 3].includes(major) || minor !== 0) {
    fail(Error, `.npy format version ${major}.${minor} is not supported; supported: 1.0, 2.0, 3.0`);
  }
  const headerStart = major === 1 ? 10 : 12;
  if (bytes.length < headerStart) fail(Error, `.npy file is truncated inside its preamble (${bytes.length} bytes)`);
  const headerLength = major === 1 ? bytes[8] | (bytes[9] << 8) : (bytes[8] | (bytes[9] << 8) | (bytes[10] << 16) | (bytes[11] << 24)) >>> 0;
  const dataStart = headerStart + headerLength;
  if (dataStart > bytes.length) {
    fail(Error, `.npy file is truncated: the header says it is ${headerLength} bytes long, but only ${bytes.length - headerStart} bytes follow`);
  }
  const headerBytes = bytes.subarray(headerStart, dataStart);
  // 1.0 and 2.0 headers are latin1, 3.0 headers UTF-8.
  const text = major === 3 ? decodeUtf8(headerBytes, '.npy header') : latin1(headerBytes);
  const { descr, fortranOrder, shape } = parseHeader(text, major);
  const { dtype, Type, widen } = dtypeOf(descr);
  const count = elementCount(shape, '.npy shape');
  const dataBytes = count * Type.BYTES_PER_ELEMENT;
  const present = bytes.length - dataStart;
  if (present < dataBytes) {
    fail(Error, `.npy file is truncated: shape ${shapeText(shape)} of ${dtype} needs ${dataBytes} data bytes, the file has ${present}`);
  }
  if (present > dataBytes) {
    fail(Error, `.npy file has ${present - dataBytes} unexpected bytes after the data of shape ${shapeText(shape)} ${dtype}`);
  }
  let data = readLittleEndian(bytes, dataStart, bytes.length, Type);
  if (widen) data = widen(data);
  if (fortranOrder) data = fortranToC(data, shape);
  return { data, dtype, shape, fortranOrder: false };
}

function latin1(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return s;
}

/**
 * Writes a typed array as a .npy file, byte for byte as numpy's np.save
 * does: version 1.0 (2.0 for headers over 64 KiB), C order, data aligned to
 * 64 bytes. `shape` defaults to [data.length].
 */
export function writeNpy(data, shape) {
  const descr = lookup(WRITE, typedArrayName(data));
  if (!descr) {
    fail(TypeError, `writeNpy: data must be a Float32Array, Float64Array, Uint8Array, Int8Array, Uint16Array or Int16Array, got ${describe(data)}`);
  }
  if (shape === undefined) shape = [data.length];
  const count = elementCount(shape, 'writeNpy: shape');
  if (count !== data.length) {
    fail(RangeError, `writeNpy: shape ${shapeText(shape)} has ${count} elements but data has ${data.length}`);
  }
  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${tuple}, }`;
  if (shape.length > 0) header += ' '.repeat(GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length);
  // numpy pads so that preamble + header + '\n' is a multiple of 64, adding
  // a full 64 spaces when it already is.
  let version = 1;
  let preamble = 10;
  let padded = header.length + 1 + (ALIGN - ((preamble + header.length + 1) % ALIGN));
  if (padded > 0xffff) {
    version = 2;
    preamble = 12;
    padded = header.length + 1 + (ALIGN - ((preamble + header.length + 1) % ALIGN));
  }
  const out = new Uint8Array(preamble + padded + data.byteLength);
  out.set(MAGIC);
  out[6] = version;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, padded, true);
  else view.setUint32(8, padded, true);
  const headerText = header.padEnd(padded - 1, ' ') + '\n';
  for (let i = 0; i < headerText.length; i += 1) out[preamble + i] = headerText.charCodeAt(i);
  writeLittleEndian(out, preamble + padded, data);
  return out;
}
