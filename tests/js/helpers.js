// Shared test helpers: quantizers for both backends, a deterministic PRNG,
// assertions, and (re-exported) the reference model of reference.js.
import { expect } from 'vitest';
import { createQuantizer } from '../../web/index.js';

export * from './reference.js';

export const BACKENDS = ['simd128', 'scalar'];
export const CHUNK = 65536; // the JS API's chunk size (web/index.js)

const quantizers = new Map();
// One quantizer per backend per test file (each file runs in its own fork).
export function quantizerFor(backend) {
  if (!quantizers.has(backend)) quantizers.set(backend, createQuantizer({ backend }));
  return quantizers.get(backend);
}

// ---------------------------------------------------------------------------
// Deterministic randomness.

export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Standard normal samples (Box-Muller) from a uniform source.
export function normalSampler(random) {
  let spare = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    const u = 1 - random(); // (0, 1]
    const v = random();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

export function normalArray(n, seed, { mean = 0, sigma = 1 } = {}) {
  const normal = normalSampler(mulberry32(seed));
  const x = new Float32Array(n);
  for (let i = 0; i < n; i += 1) x[i] = mean + sigma * normal();
  return x;
}

// ---------------------------------------------------------------------------
// Assertions.

export function expectClose(actual, expected, rel = 1e-6, what = '') {
  if (expected === 0) {
    expect(actual, what).toBe(0);
    return;
  }
  const err = Math.abs(actual - expected) / Math.abs(expected);
  expect(err, `${what}: got ${actual}, expected ${expected} (relative error ${err})`).toBeLessThanOrEqual(rel);
}

export function expectEncodingClose(actual, expected, rel = 1e-6) {
  expect(Object.keys(actual).sort()).toEqual(['bitwidth', 'isSymmetric', 'max', 'min', 'offset', 'scale']);
  expect(actual.bitwidth).toBe(expected.bitwidth);
  expect(actual.offset).toBe(expected.offset);
  expect(actual.isSymmetric).toBe(false);
  expectClose(actual.scale, expected.scale, rel, 'scale');
  expectClose(actual.min, expected.min, rel, 'min');
  expectClose(actual.max, expected.max, rel, 'max');
}

// The error fn throws: of ErrorClass (exactly, when a subclass is given), a
// message starting 'wasmquant:', matching every pattern, and never an
// Emscripten abort or a WebAssembly trap.
export function expectWasmquantError(fn, ErrorClass, ...patterns) {
  let error;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error, 'expected an error to be thrown').toBeDefined();
  checkWasmquantError(error);
  if (ErrorClass) expect(error.constructor).toBe(ErrorClass);
  for (const p of patterns) expect(error.message).toMatch(p);
  return error;
}

// The async counterpart: the error a promise rejects with, checked the same way.
export async function expectWasmquantRejection(promise, ...patterns) {
  let error;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  expect(error, 'expected a rejection').toBeDefined();
  checkWasmquantError(error);
  for (const p of patterns) expect(error.message).toMatch(p);
  return error;
}

const ERROR_CLASSES = [Error, TypeError, RangeError];

// A wasmquant error: exactly Error, TypeError or RangeError (never a
// SyntaxError from JSON.parse, an engine "Invalid typed array length" that
// escaped, an Emscripten abort, ...), with a message starting 'wasmquant: '.
export function isWasmquantError(e) {
  return (
    ERROR_CLASSES.includes(e?.constructor) &&
    typeof e.message === 'string' &&
    e.message.startsWith('wasmquant: ') &&
    !/Aborted|abort\(|unreachable|RuntimeError/i.test(e.message)
  );
}

export function checkWasmquantError(error) {
  expect(isWasmquantError(error), `not a wasmquant error: ${error?.constructor?.name}: ${error?.message}`).toBe(true);
  expect(error).toBeInstanceOf(Error);
  expect(error).not.toBeInstanceOf(WebAssembly.RuntimeError);
  expect(error.message.startsWith('wasmquant:'), `message: ${error.message}`).toBe(true);
  expect(error.message).not.toMatch(/Aborted|abort\(|unreachable|RuntimeError/i);
}

// Bits of a Float32Array, for bit-exact comparisons (NaN, -0 included).
export const bitsOf = (f32) => new Uint32Array(f32.buffer, f32.byteOffset, f32.length);

// The size of the module's wasm memory, seen through a zero-copy tensor view.
export function wasmMemoryBytes(wq) {
  const t = wq.allocTensor(1);
  try {
    return t.data.buffer.byteLength;
  } finally {
    t.free();
  }
}

// Element-wise identity of two typed arrays (same type, same length, same
// bits), reporting the first difference; much faster than toEqual on
// millions of elements.
export function expectSameArray(actual, expected, what = 'arrays') {
  expect(actual.constructor, `${what}: type`).toBe(expected.constructor);
  expect(actual.length, `${what}: length`).toBe(expected.length);
  const a = actual instanceof Float32Array ? bitsOf(actual) : actual;
  const b = expected instanceof Float32Array ? bitsOf(expected) : expected;
  for (let i = 0; i < a.length; i += 1) {
    if (a[i] !== b[i]) {
      expect.fail(`${what} differ first at index ${i}: ${actual[i]} vs ${expected[i]}`);
    }
  }
}
