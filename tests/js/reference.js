// The one independent double-precision model of docs/spec.md in the JS
// tests, written from the specification text (not from web/ or src/): §2's
// encoding and codes, §3's symmetric grid, allowed codes, percentile ranks
// and per-channel layouts. (GoogleTest has its own in tests/cpp/reference.h.)

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
// SPEC §3: symmetric, the allowed codes of any encoding, percentile ranks,
// per-channel layouts.

export const half = (bitwidth) => 2 ** (bitwidth - 1);

// SPEC §3.1 on the finite range [lo, hi].
export function refSymmetric(lo, hi, { bitwidth = 8, minRange = 0.01, strict = false } = {}) {
  const absmax = Math.max(Math.abs(lo), Math.abs(hi), minRange / 2);
  const scale = absmax / (half(bitwidth) - 1);
  const offset = strict ? -(half(bitwidth) - 1) : -half(bitwidth);
  return { bitwidth, min: offset * scale, max: (half(bitwidth) - 1) * scale, scale, offset, isSymmetric: true };
}

// The output code range of an encoding, and the code of 0.0.
export function codeRange(enc) {
  const strict = enc.isSymmetric && enc.offset === -(half(enc.bitwidth) - 1);
  const top = steps(enc.bitwidth) - (strict ? 1 : 0);
  if (enc.isSymmetric) return { low: enc.offset, high: enc.offset + top, zero: 0 };
  return { low: 0, high: top, zero: 0 - enc.offset }; // not -offset: no -0
}

// The codes allowed for a finite x: asymmetric q = clamp(R(x / scale) + z)
// (SPEC §2: the zero point is added after rounding), symmetric s =
// clamp(R(x / scale)) (SPEC §3.1). The SPEC lets kernels work with float32
// copies of scale, 1/scale and the offset, so within 1e-5 + 3e-7 |x / scale|
// of a half step (SPEC §2, accuracy) either neighbour is accepted;
// everywhere else the code is fixed.
export function allowedCodes(x, enc, rounding = 'half-up') {
  const { low, high } = codeRange(enc);
  const z = enc.isSymmetric ? 0 : -enc.offset;
  const s = x / enc.scale;
  const slack = 1e-5 + 3e-7 * Math.abs(s);
  const round = rounding === 'half-even' ? roundHalfEven : roundHalfUp;
  const clamp = (q) => Math.min(Math.max(q, low), high);
  const a = clamp(round(s - slack) + z);
  const b = clamp(round(s + slack) + z);
  return a === b ? [a] : [a, b];
}

export function sqnrDb(x, xhat) {
  let signal = 0;
  let noise = 0;
  for (let i = 0; i < x.length; i += 1) {
    signal += x[i] * x[i];
    noise += (xhat[i] - x[i]) ** 2;
  }
  return noise === 0 ? Infinity : 10 * Math.log10(signal / noise);
}

// SPEC §3.4: ranks in exact integer arithmetic. p is given with at most 4
// decimals; rank = ceil(p / 100 * N) clamped to [1, N].
export function nearestRank(pE4, n) {
  const num = BigInt(pE4) * BigInt(n);
  let rank = Number((num + 999999n) / 1000000n);
  if (rank < 1) rank = 1;
  if (rank > n) rank = n;
  return rank;
}

export function percentileRange(x, p) {
  const sorted = Float64Array.from(Array.from(x).filter(Number.isFinite)).sort();
  const pE4 = Math.round(p * 10000);
  return {
    lo: sorted[nearestRank(1000000 - pE4, sorted.length) - 1],
    hi: sorted[nearestRank(pE4, sorted.length) - 1],
  };
}

// SPEC §3.2: the tensor as [outer, channels, inner].
export function layoutOf(shape, axis) {
  const a = axis < 0 ? axis + shape.length : axis;
  const prod = (dims) => dims.reduce((p, d) => p * d, 1);
  return { outer: prod(shape.slice(0, a)), channels: shape[a], inner: prod(shape.slice(a + 1)) };
}

export function channelIndices(l, c) {
  const indices = [];
  for (let o = 0; o < l.outer; o += 1) {
    for (let i = 0; i < l.inner; i += 1) indices.push((o * l.channels + c) * l.inner + i);
  }
  return indices;
}
