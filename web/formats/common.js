// Helpers shared by the file formats: errors, argument and shape checks,
// little-endian byte copies, float16/bfloat16 widening and a duplicate-key
// check for JSON. Plain ECMAScript only: this runs in Node, browsers and
// workers alike.

// Typed-array lengths past 2^31 fail or are unsupported in some engines, and
// no tensor that big fits in wasm memory anyway.
export const MAX_ELEMENTS = 2 ** 31;

export function fail(ErrorClass, message) {
  throw new ErrorClass(`wasmquant: ${message}`);
}

export function describe(value) {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === 'bigint') return `the BigInt ${value}n`;
  if (value === null) return 'null';
  if (typeof value === 'object') {
    const name = Array.isArray(value) ? 'Array' : (value.constructor?.name ?? 'Object');
    return `${/^[AEIOU]/.test(name) ? 'an' : 'a'} ${name}`;
  }
  return String(value);
}

// The name of a typed array's type, also for arrays from another realm
// (a worker or an iframe), where instanceof would fail.
export function typedArrayName(value) {
  if (!ArrayBuffer.isView(value) || value instanceof DataView) return undefined;
  return value[Symbol.toStringTag];
}

// The file's bytes as a Uint8Array; an ArrayBuffer is accepted too since
// that is what fetch() and FileReader hand out.
export function checkBytes(bytes, what) {
  if (bytes instanceof ArrayBuffer) return new Uint8Array(bytes);
  if (typedArrayName(bytes) !== 'Uint8Array') {
    fail(TypeError, `${what} must be a Uint8Array (or an ArrayBuffer) of the file's bytes, got ${describe(bytes)}`);
  }
  return bytes;
}

// table[key] for own keys only: a file's "constructor" or "__proto__" must
// not find Object.prototype's.
export const lookup = (table, key) => (typeof key === 'string' && Object.hasOwn(table, key) ? table[key] : undefined);

// An object literal or JSON object (also from another realm), not an
// array, Map, typed array or other class instance.
export function isPlainObject(value) {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === null || Object.getPrototypeOf(proto) === null;
}

// A shape for messages: [2, 3], cut short past 8 axes.
export function shapeText(shape) {
  const shown = shape.length > 8 ? [...shape.slice(0, 8), `… ${shape.length} axes`] : shape;
  return `[${shown.join(', ')}]`;
}

// The number of elements of `shape` (an array of non-negative safe
// integers), refusing counts past MAX_ELEMENTS before anything is allocated.
export function elementCount(shape, what) {
  if (!Array.isArray(shape)) fail(TypeError, `${what} must be an array of integers, got ${describe(shape)}`);
  let count = 1;
  for (const [i, d] of shape.entries()) {
    if (typeof d !== 'number') fail(TypeError, `${what}[${i}] must be a number, got ${describe(d)}`);
    if (!Number.isSafeInteger(d) || d < 0) {
      fail(RangeError, `${what}[${i}] must be a non-negative integer, got ${d}`);
    }
  }
  if (shape.includes(0)) return 0;
  for (const d of shape) {
    count *= d;
    if (count > MAX_ELEMENTS) {
      fail(RangeError, `${what} ${shapeText(shape)} has more than 2^31 elements, too many for a typed array`);
    }
  }
  return count;
}

export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// Reverses the bytes of each itemSize-byte element in place.
export function swapBytes(bytes, itemSize) {
  for (let i = 0; i + itemSize <= bytes.length; i += itemSize) {
    for (let a = i, b = i + itemSize - 1; a < b; a += 1, b -= 1) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
  return bytes;
}

// A fresh Type array of the little-endian bytes[begin, end): the copy owns
// its buffer (no aliasing of the caller's file, no alignment trouble).
export function readLittleEndian(bytes, begin, end, Type) {
  // Uint8Array's slice, not a Buffer's (which is a view, not a copy).
  const copy = Uint8Array.prototype.slice.call(bytes, begin, end);
  if (!LITTLE_ENDIAN && Type.BYTES_PER_ELEMENT > 1) swapBytes(copy, Type.BYTES_PER_ELEMENT);
  return new Type(copy.buffer, 0, (end - begin) / Type.BYTES_PER_ELEMENT);
}

// bytes as a Type array for data that is only read: a view where the host is
// little-endian and the bytes are aligned (no copy of a large weight), else
// a copy.
export function viewLittleEndian(bytes, Type) {
  if (LITTLE_ENDIAN && bytes.byteOffset % Type.BYTES_PER_ELEMENT === 0 && bytes.length % Type.BYTES_PER_ELEMENT === 0) {
    return new Type(bytes.buffer, bytes.byteOffset, bytes.length / Type.BYTES_PER_ELEMENT);
  }
  return readLittleEndian(bytes, 0, bytes.length, Type);
}

// Copies a typed array's elements into out at byteOffset, little-endian.
export function writeLittleEndian(out, byteOffset, data) {
  const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  out.set(view, byteOffset);
  if (!LITTLE_ENDIAN && data.BYTES_PER_ELEMENT > 1) {
    swapBytes(out.subarray(byteOffset, byteOffset + data.byteLength), data.BYTES_PER_ELEMENT);
  }
}

// float32 bit patterns of all 65536 float16 values, built on first use
// (256 KiB). Working on bits keeps NaN payloads and -0 exactly.
let float16Table;
function float16ToFloat32Bits() {
  if (float16Table) return float16Table;
  float16Table = new Uint32Array(65536);
  const f = new Float32Array(1);
  const bits = new Uint32Array(f.buffer);
  for (let h = 0; h < 65536; h += 1) {
    const sign = (h & 0x8000) << 16;
    const exponent = (h >> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0x1f) {
      float16Table[h] = (sign | 0x7f800000 | (mantissa << 13)) >>> 0; // Inf, NaN
    } else if (exponent === 0) {
      f[0] = mantissa * 2 ** -24; // subnormal half: a normal (or zero) float
      float16Table[h] = (sign | bits[0]) >>> 0;
    } else {
      float16Table[h] = (sign | ((exponent + 112) << 23) | (mantissa << 13)) >>> 0;
    }
  }
  return float16Table;
}

export function float16ToFloat32(halves) {
  const table = float16ToFloat32Bits();
  const out = new Float32Array(halves.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < halves.length; i += 1) bits[i] = table[halves[i]];
  return out;
}

// bfloat16 is the top half of a float32: widening is exact.
export function bfloat16ToFloat32(halves) {
  const out = new Float32Array(halves.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < halves.length; i += 1) bits[i] = halves[i] << 16;
  return out;
}

// How each dtype is stored in a file, and how it becomes what readers
// return: float16, bfloat16 and float64 are widened to float32, the type the
// quantizer takes; integer codes stay as they are.
const STORAGE = {
  float32: { Type: Float32Array },
  float16: { Type: Uint16Array, widen: float16ToFloat32 },
  bfloat16: { Type: Uint16Array, widen: bfloat16ToFloat32 },
  float64: { Type: Float64Array, widen: (x) => new Float32Array(x) },
  uint8: { Type: Uint8Array },
  int8: { Type: Int8Array },
  uint16: { Type: Uint16Array },
  int16: { Type: Int16Array },
};

// A format's dtype codes ({ code: dtype name }) → { code: { dtype, Type, widen } }.
export function readTable(codes) {
  return Object.fromEntries(Object.entries(codes).map(([code, dtype]) => [code, { dtype, ...STORAGE[dtype] }]));
}

// Strict UTF-8: invalid bytes are an error, not U+FFFD, and a BOM is kept
// (JSON then rejects it, as the Rust reference does).
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
export function decodeUtf8(bytes, what) {
  try {
    return utf8.decode(bytes);
  } catch {
    return fail(Error, `${what} is not valid UTF-8`);
  }
}

// Strings that cannot become UTF-8 (lone surrogates, e.g. from "\ud800").
export const hasLoneSurrogate = (s) => /\p{Surrogate}/u.test(s);

// JSON.parse silently keeps the last of two equal keys; in a file that is
// ambiguous (two entries for one tensor), so look for them. `text` must be
// valid JSON (JSON.parse accepted it). Returns undefined or
// { key, path: [keys of the enclosing objects] }.
export function findDuplicateKey(text) {
  const stack = []; // one entry per open bracket: { keys: Set, current } or null for arrays
  let expectKey = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (expectKey) {
        const top = stack[stack.length - 1];
        const key = JSON.parse(text.slice(i, j + 1));
        if (top.keys.has(key)) {
          return {
            key,
            path: stack
              .slice(0, -1)
              .filter(Boolean)
              .map((o) => o.current),
          };
        }
        top.keys.add(key);
        top.current = key;
        expectKey = false;
      }
      i = j;
    } else if (c === '{') {
      stack.push({ keys: new Set(), current: undefined });
      expectKey = true;
    } else if (c === '[') {
      stack.push(null);
    } else if (c === '}' || c === ']') {
      stack.pop();
      expectKey = false;
    } else if (c === ',') {
      expectKey = stack[stack.length - 1] !== null;
    }
  }
  return undefined;
}

// Whether brackets nest deeper than `limit` (strings skipped; any text).
// JSON.parse accepts any depth, and a 100 MB header of "[[[[…" costs it
// gigabytes; the files read here nest 5 levels at most.
function nestsDeeperThan(text, limit) {
  let depth = 0;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      for (i += 1; i < text.length && text.charCodeAt(i) !== 0x22; i += 1) if (text.charCodeAt(i) === 0x5c) i += 1;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) {
      depth -= 1;
    }
  }
  return false;
}

export const MAX_JSON_DEPTH = 64;

// JSON.parse with errors in our words, deep nesting and duplicate keys refused.
export function parseJson(text, what) {
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) {
    fail(Error, `${what} nests deeper than ${MAX_JSON_DEPTH} levels; it is not a file of this kind`);
  }
  let value;
  try {
    value = JSON.parse(text);
  } catch (e) {
    fail(Error, `${what} is not valid JSON (${e.message})`);
  }
  const duplicate = findDuplicateKey(text);
  if (duplicate) {
    const where = duplicate.path.length ? ` in ${duplicate.path.map((k) => JSON.stringify(k)).join(' → ')}` : '';
    fail(Error, `${what} has the key ${JSON.stringify(duplicate.key)} twice${where}`);
  }
  return value;
}
