// Helpers for the file-format tests: error checks, byte builders written
// from the format descriptions (not from web/formats/), bit comparisons.
import fc from 'fast-check';
import { expect } from 'vitest';
import { isWasmquantError, mulberry32 } from '../helpers.js';

export const FC_SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : 20240611;

export { expectWasmquantError, isWasmquantError, mulberry32 } from '../helpers.js';

// Runs fn; returns its result, or undefined when it threw a wasmquant error;
// anything else thrown fails the test (with the message).
export function resultOrWasmquantError(fn) {
  try {
    return fn();
  } catch (e) {
    if (!isWasmquantError(e)) throw new Error(`not a wasmquant error: ${e?.constructor?.name}: ${e?.message}`, { cause: e });
    return undefined;
  }
}

export const ascii = (s) =>
  Uint8Array.from(s, (c) => {
    const code = c.charCodeAt(0);
    if (code > 0xff) throw new Error('ascii(): not a latin1 string');
    return code;
  });

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export const fromBase64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

// Little-endian bytes of numbers of a given typed-array type.
export function leBytes(Type, values) {
  const item = Type.BYTES_PER_ELEMENT;
  const out = new Uint8Array(values.length * item);
  const view = new DataView(out.buffer);
  const set = {
    Float32Array: (i, v) => view.setFloat32(i * 4, v, true),
    Float64Array: (i, v) => view.setFloat64(i * 8, v, true),
    Uint8Array: (i, v) => view.setUint8(i, v),
    Int8Array: (i, v) => view.setInt8(i, v),
    Uint16Array: (i, v) => view.setUint16(i * 2, v, true),
    Int16Array: (i, v) => view.setInt16(i * 2, v, true),
  }[Type.name];
  values.forEach((v, i) => set(i, v));
  return out;
}

// An .npy file from its parts, as the format description lays it out:
// magic, version, header length (u16 LE for 1.0, u32 LE after), header.
export function npyFile(header, data = new Uint8Array(0), { version = 1, headerLength } = {}) {
  const headerBytes = version === 3 ? new TextEncoder().encode(header) : ascii(header);
  const size = version === 1 ? 2 : 4;
  const length = new Uint8Array(size);
  const n = headerLength ?? headerBytes.length;
  for (let i = 0; i < size; i += 1) length[i] = Math.floor(n / 256 ** i) % 256;
  return concat(Uint8Array.of(0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0), length, headerBytes, data);
}

// numpy's header text for a dict literal: padded with spaces so the data
// starts at a multiple of `align`, ending in '\n'.
export function npyHeader(dict, { version = 1, align = 64 } = {}) {
  const preamble = version === 1 ? 10 : 12;
  let text = dict;
  while ((preamble + text.length + 1) % align !== 0) text += ' ';
  return `${text}\n`;
}

// A safetensors file from its header text and data buffer.
export function safetensorsFile(headerText, buffer = new Uint8Array(0), { headerLength } = {}) {
  const header = new TextEncoder().encode(headerText);
  const size = new Uint8Array(8);
  const n = headerLength ?? header.length;
  for (let i = 0; i < 8; i += 1) size[i] = Math.floor(n / 256 ** i) % 256;
  return concat(size, header, buffer);
}

// Bits of float arrays, so NaN payloads and -0 compare exactly.
export function bitsOf(a) {
  if (a instanceof Float32Array) return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
  if (a instanceof Float64Array) {
    return Array.from(new BigUint64Array(a.buffer, a.byteOffset, a.length), (b) => b.toString(16));
  }
  return Array.from(a);
}

export function expectSameTyped(actual, expected) {
  expect(actual.constructor).toBe(expected.constructor);
  expect(actual.length).toBe(expected.length);
  expect(bitsOf(actual)).toEqual(bitsOf(expected));
}

// The typed arrays both formats write, and the dtype each reads back as.
export const TYPES = [Float32Array, Float64Array, Uint8Array, Int8Array, Uint16Array, Int16Array];
export const DTYPE_OF = {
  Float32Array: 'float32',
  Float64Array: 'float64',
  Uint8Array: 'uint8',
  Int8Array: 'int8',
  Uint16Array: 'uint16',
  Int16Array: 'int16',
};

export const product = (shape) => shape.reduce((a, b) => a * b, 1);

// Random contents for a typed array type, with the awkward float values
// (NaN with payloads, ±0, ±Inf, subnormals) mixed in.
export function randomTyped(Type, n, seed) {
  const random = mulberry32(seed);
  const bytes = new Uint8Array(n * Type.BYTES_PER_ELEMENT);
  for (let i = 0; i < bytes.length; i += 1) bytes[i] = Math.floor(random() * 256);
  const out = new Type(bytes.buffer);
  if (Type === Float32Array || Type === Float64Array) {
    const specials = [0, -0, Infinity, -Infinity, NaN, 1e-40, -1.5, 65504];
    for (let i = 0; i < n; i += 3) out[i] = specials[i % specials.length];
  }
  return out;
}

// Random byte edits (anywhere in the file) of valid files, cut short in one
// case of five; check(bytes) judges each outcome.
export function fuzzByteMutations(seeds, check) {
  fc.assert(
    fc.property(
      fc.constantFrom(...seeds),
      fc.array(fc.tuple(fc.noBias(fc.nat({ max: 1 << 20 })), fc.integer({ min: 0, max: 255 })), {
        minLength: 1,
        maxLength: 6,
      }),
      fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.noBias(fc.nat({ max: 1 << 20 })) }),
      (seed, edits, cut) => {
        const bytes = seed.slice();
        for (const [at, value] of edits) bytes[at % bytes.length] = value;
        check(cut === undefined ? bytes : bytes.subarray(0, cut % (bytes.length + 1)));
      },
    ),
    { seed: FC_SEED, numRuns: 4000 },
  );
}
