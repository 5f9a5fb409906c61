// Shared test helpers: quantizers for both backends, a deterministic PRNG,
// and an independent double-precision model of docs/spec.md §2 written from the
// SPEC text (not from web/ or src/).
import { expect } from 'vitest';
import { createQuantizer } from '../../web/index.js';

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
// SPEC §2 in double precision.

export const steps = (bitwidth) => 2 ** bitwidth - 1;

// §2 step 1: smallest and largest finite element (as doubles).
export function finiteRange(x) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of x) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return { lo, hi };
}

// §2 steps 2-6 on a range.
export function refEncoding(lo, hi, { bitwidth = 8, minRange = 0.01 } = {}) {
  const n = steps(bitwidth);
  hi = Math.max(hi, lo + minRange); // step 2
  if (lo > 0) lo = 0; // step 3
  if (hi < 0) hi = 0;
  const scale = (hi - lo) / n; // step 4
  const zf = -lo / scale;
  // step 5: zf >= 0, where half away from zero is Math.round (exact, unlike
  // a floating-point floor(zf + 0.5))
  const z = Math.min(Math.max(Math.round(zf), 0), n);
  const offset = 0 - z; // not -z: no -0
  const min = offset * scale; // step 6
  const max = min + n * scale;
  return { bitwidth, min, max, scale, offset, isSymmetric: false };
}

// An encoding whose shifted ends pass the float32 range would dequantize its
// end codes to Infinity; wasmquant rejects such ranges.
const FLOAT32_MAX = 3.4028234663852886e38;
export function refEncodingFitsFloat32(enc) {
  return enc.min >= -FLOAT32_MAX && enc.max <= FLOAT32_MAX;
}

export function refEncodingOf(x, options = {}) {
  const { lo, hi } = finiteRange(x);
  return refEncoding(lo, hi, options);
}

// floor(t + 0.5) in exact arithmetic; Math.round is exactly that (ties go
// toward +Infinity), without the rounding of a floating-point t + 0.5.
export function roundHalfUp(t) {
  return Math.round(t);
}

export function roundHalfEven(t) {
  const f = Math.floor(t);
  const d = t - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

const clampCode = (q, enc) => Math.min(Math.max(q, 0), steps(enc.bitwidth));

// t = (x - min) / scale, the code's position on the grid.
export const gridPosition = (x, enc) => (x - enc.min) / enc.scale;

// The code of one finite x (§2), in double precision: clamp(R(x / scale) +
// z, 0, steps), the zero point z = -offset added after rounding (for
// half-even with an odd z this differs from rounding (x - min) / scale).
export function refCode(x, enc, rounding = 'half-up') {
  const s = x / enc.scale;
  return clampCode((rounding === 'half-even' ? roundHalfEven(s) : roundHalfUp(s)) - enc.offset, enc);
}

export const refDequantize = (q, enc) => (q + enc.offset) * enc.scale;

// The SPEC lets kernels work with float32 copies of scale, 1/scale and the
// offset, so an element whose x / scale lies within 1e-5 + 3e-7 |x / scale|
// of a half step (SPEC §2, accuracy) may get either neighbouring code.
// Everywhere else the code is fixed. This returns the codes allowed for x.
export function allowedCodes(x, enc, rounding = 'half-up') {
  const s = x / enc.scale;
  const slack = 1e-5 + 3e-7 * Math.abs(s);
  const round = rounding === 'half-even' ? roundHalfEven : roundHalfUp;
  const a = clampCode(round(s - slack) - enc.offset, enc);
  const b = clampCode(round(s + slack) - enc.offset, enc);
  return a === b ? [a] : [a, b];
}

// How many elements of n may be ambiguous: about 2 * slack of the grid,
// which grows with the bitwidth (3e-6 * steps), plus a floor.
export const ambiguityBudget = (n, bitwidth) => n * (1e-3 + 4e-7 * steps(bitwidth));

// Compares codes of x with the reference. Returns { mismatches, ambiguous,
// firstMismatch }: mismatches are codes outside allowedCodes; ambiguous counts
// elements within float32 reach of a half step (either code accepted).
export function compareWithReference(x, codes, enc, rounding = 'half-up') {
  let mismatches = 0;
  let ambiguous = 0;
  let firstMismatch = null;
  for (let i = 0; i < x.length; i += 1) {
    const allowed = allowedCodes(x[i], enc, rounding);
    if (allowed.length > 1) ambiguous += 1;
    if (!allowed.includes(codes[i])) {
      mismatches += 1;
      if (firstMismatch === null) {
        firstMismatch = { index: i, x: x[i], code: codes[i], allowed };
      }
    }
  }
  return { mismatches, ambiguous, firstMismatch };
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
  expect(Object.keys(actual).sort()).toEqual(
    ['bitwidth', 'isSymmetric', 'max', 'min', 'offset', 'scale'],
  );
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
