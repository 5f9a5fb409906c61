// The schemes of docs/spec.md §3 through the JS API, on both backends: each
// option reaching the core (hand-computed cases of symmetric §3.1,
// tf_enhanced §3.3, percentile §3.4), what the JS layer owns (per-channel
// options and results §3.2, 4-bit packing §3.5, code types, errors), held
// against reference.js. The statistical sweeps of each scheme's math are
// GoogleTest's (tests/cpp/schemes_test.cpp), on the same kernels.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BACKENDS,
  expectSameArray,
  expectWasmquantError,
  mulberry32,
  normalArray,
  quantizerFor,
  refEncoding,
  steps,
  finiteRange,
} from './helpers.js';
import { allowedCodes, channelIndices, codeRange, half, layoutOf, percentileRange, refSymmetric, sqnrDb } from './reference.js';

function gather(x, indices) {
  const out = new x.constructor(indices.length);
  indices.forEach((j, k) => {
    out[k] = x[j];
  });
  return out;
}

// SPEC §3.5 by hand: rows of `rowLength` codes, first value in the low nibble.
function packByHand(codes, rowLength) {
  const rowBytes = Math.ceil(rowLength / 2);
  const rows = codes.length / rowLength;
  const out = new Uint8Array(rows * rowBytes);
  for (let r = 0; r < rows; r += 1) {
    for (let i = 0; i < rowLength; i += 1) {
      const nibble = codes[r * rowLength + i] & 0xf;
      out[r * rowBytes + (i >> 1)] |= i % 2 === 0 ? nibble : nibble << 4;
    }
  }
  return out;
}

// Laplace(0, b) and `outliers` values of magnitude 40b..60b.
function laplaceWithOutliers(n, seed, { b = 1, outliers = 0 } = {}) {
  const random = mulberry32(seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i += 1) {
    const u = random() - 0.5;
    const mag = -b * Math.log(1 - 2 * Math.abs(u));
    x[i] = u < 0 ? -mag : mag;
  }
  for (let k = 0; k < outliers; k += 1) {
    const mag = b * (40 + (20 * k) / outliers);
    x[(k * 7919 + 13) % n] = k % 2 ? -mag : mag;
  }
  return x;
}

function uniformArray(n, seed, a, b) {
  const random = mulberry32(seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i += 1) x[i] = a + (b - a) * random();
  return x;
}

const codeTypeFor = (bitwidth, symmetric) => (symmetric ? (bitwidth <= 8 ? Int8Array : Int16Array) : bitwidth <= 8 ? Uint8Array : Uint16Array);

function expectEncodingExact(actual, expected, what = '') {
  expect(actual.bitwidth, what).toBe(expected.bitwidth);
  expect(actual.offset, what).toBe(expected.offset);
  expect(actual.isSymmetric, what).toBe(expected.isSymmetric);
  expect(actual.scale, `${what} scale`).toBe(expected.scale);
  expect(actual.min, `${what} min`).toBe(expected.min);
  expect(actual.max, `${what} max`).toBe(expected.max);
}

// The offset exactly, the floats to a few ulps.
function expectEncodingNear(actual, expected, what = '', rel = 1e-14) {
  expect(actual.bitwidth, what).toBe(expected.bitwidth);
  expect(actual.offset, what).toBe(expected.offset);
  expect(actual.isSymmetric, what).toBe(expected.isSymmetric);
  for (const key of ['scale', 'min', 'max']) {
    const want = expected[key];
    const err = want === 0 ? Math.abs(actual[key]) : Math.abs(actual[key] - want) / Math.abs(want);
    expect(err, `${what} ${key}: got ${actual[key]}, want ${want}`).toBeLessThanOrEqual(rel);
  }
}

function expectCodesAllowed(x, codes, enc, rounding, what = '') {
  let ambiguous = 0;
  for (let i = 0; i < x.length; i += 1) {
    const allowed = allowedCodes(x[i], enc, rounding);
    if (allowed.length > 1) ambiguous += 1;
    if (!allowed.includes(codes[i])) {
      expect.fail(`${what}: x[${i}] = ${x[i]} got code ${codes[i]}, want ${allowed.join(' or ')}`);
    }
  }
  return ambiguous;
}

const SCHEMES = [
  ['tf', { scheme: 'tf' }],
  ['symmetric', { scheme: 'symmetric' }],
  ['symmetric strict', { scheme: 'symmetric', strict: true }],
  ['tf_enhanced', { scheme: 'tf_enhanced' }],
  ['tf_enhanced symmetric', { scheme: 'tf_enhanced', symmetric: true }],
  ['percentile 90', { scheme: 'percentile', percentile: 90 }],
  ['percentile 99 symmetric', { scheme: 'percentile', percentile: 99, symmetric: true }],
];

const isSymmetricScheme = (opts) => opts.scheme === 'symmetric' || opts.symmetric === true;

describe.each(BACKENDS)('schemes, backend %s', (backend) => {
  let wq;
  beforeAll(async () => {
    wq = await quantizerFor(backend);
  });

  // =========================================================================
  describe('symmetric (SPEC §3.1)', () => {
    it('hand-computed encodings and codes', () => {
      // 4 bits, [-7, 3]: scale 1, offset -8, codes span [-8, 7].
      let r = wq.quantize(new Float32Array([-7, 3, 0, -2, 1, 2.4, -2.6]), { scheme: 'symmetric', bitwidth: 4 });
      expect(r.encoding).toEqual({ bitwidth: 4, min: -8, max: 7, scale: 1, offset: -8, isSymmetric: true });
      expect(r.codes).toBeInstanceOf(Int8Array);
      expect(Array.from(r.codes)).toEqual([-7, 3, 0, -2, 1, 2, -3]);
      // 8 bits, [-1.27, 0.5]: scale 0.01, offset -128, codes span [-1.28, 1.27].
      r = wq.quantize(new Float32Array([-1.27, 0.5, 0, 0.01, -0.6]), { scheme: 'symmetric' });
      expectEncodingNear(r.encoding, { bitwidth: 8, min: -1.28, max: 1.27, scale: 0.01, offset: -128, isSymmetric: true }, '', 1e-6);
      expect(Array.from(r.codes)).toEqual([-127, 50, 0, 1, -60]);
      const strict = wq.quantize(new Float32Array([-1.27, 0.5, 0, 0.01, -0.6]), { scheme: 'symmetric', strict: true });
      expectEncodingNear(strict.encoding, { bitwidth: 8, min: -1.27, max: 1.27, scale: 0.01, offset: -127, isSymmetric: true }, '', 1e-6);
      expect(Array.from(strict.codes)).toEqual([-127, 50, 0, 1, -60]);
      // 16 bits, [-32767, 1]: scale 1, offset -32768.
      r = wq.quantize(new Float32Array([-32767, 1, 0, 12345, -5]), { scheme: 'symmetric', bitwidth: 16 });
      expect(r.encoding).toEqual({ bitwidth: 16, min: -32768, max: 32767, scale: 1, offset: -32768, isSymmetric: true });
      expect(r.codes).toBeInstanceOf(Int16Array);
      expect(Array.from(r.codes)).toEqual([-32767, 1, 0, 12345, -5]);
      // 2 bits, [-1, 0.5]: scale 1, offset -2, codes in [-2, 1]; 0.5 is a tie.
      r = wq.quantize(new Float32Array([-1, 0.5, 0, 0.4, -0.6]), { scheme: 'symmetric', bitwidth: 2 });
      expect(r.encoding).toEqual({ bitwidth: 2, min: -2, max: 1, scale: 1, offset: -2, isSymmetric: true });
      expect(Array.from(r.codes)).toEqual([-1, 1, 0, 0, -1]);
    });

    it('clamps to [-2^(b-1), 2^(b-1) - 1] and rounds ties by the mode', () => {
      const x = new Float32Array([-100, -8.4, -2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 6.6, 100]);
      const encoding = { bitwidth: 4, scale: 1, offset: -8, isSymmetric: true };
      expect(Array.from(wq.quantize(x, { encoding }).codes)).toEqual([-8, -8, -2, -1, 0, 1, 2, 3, 7, 7]);
      expect(Array.from(wq.quantize(x, { encoding, rounding: 'half-even' }).codes)).toEqual([-8, -8, -2, -2, 0, 0, 2, 2, 7, 7]);
    });

    it('strict: codes in [-(2^(b-1) - 1), 2^(b-1) - 1]; ties of x / scale by the mode', () => {
      const x = new Float32Array([-100, -8.4, -2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 6.6, 100]);
      const encoding = { bitwidth: 4, scale: 1, offset: -7, isSymmetric: true };
      expect(Array.from(wq.quantize(x, { encoding }).codes)).toEqual([-7, -7, -2, -1, 0, 1, 2, 3, 7, 7]);
      // SPEC §3.1: s = R(x / scale); half-even goes to the even s, although
      // the unsigned code s + 7 is then odd.
      expect(Array.from(wq.quantize(x, { encoding, rounding: 'half-even' }).codes)).toEqual([-7, -7, -2, -2, 0, 0, 2, 2, 7, 7]);
      // Calibrated, 8 bits: absmax 127 gives scale 1.
      const y = new Float32Array([-127, 127, 2.5, -1.5, 0.5, -0.5, 3.5, -200 / 2]);
      for (const s of [false, true]) {
        const r = wq.quantize(y, { scheme: 'symmetric', strict: s, rounding: 'half-even' });
        expect(r.encoding.scale).toBe(1);
        expect(Array.from(r.codes), s ? 'strict' : 'not strict').toEqual([-127, 127, 2, -2, 0, 0, 4, -100]);
      }
      const r = wq.quantize(y, { scheme: 'symmetric', strict: true });
      expect(Math.min(...r.codes)).toBe(-127);
    });

    it('dequantize(s) = s * scale; codes outside the range are rejected', () => {
      for (const bitwidth of [2, 4, 8, 9, 16]) {
        for (const strict of [false, true]) {
          const enc = wq.computeEncoding(-0.7, 1.3, { scheme: 'symmetric', bitwidth, strict });
          const { low, high } = codeRange(enc);
          const Type = codeTypeFor(bitwidth, true);
          const codes = new Type(high - low + 1);
          for (let s = low; s <= high; s += 1) codes[s - low] = s;
          const x = wq.dequantize(codes, enc);
          const scale32 = Math.fround(enc.scale);
          for (let i = 0; i < codes.length; i += 1) {
            // float32 scale times an integer code, rounded once to float32
            if (x[i] !== Math.fround(codes[i] * scale32)) {
              expect.fail(`${bitwidth} bits: code ${codes[i]} -> ${x[i]}, want ${Math.fround(codes[i] * scale32)}`);
            }
          }
          expect(Object.is(x[-low], 0)).toBe(true); // code 0 is +0.0
          if (strict) {
            expectWasmquantError(() => wq.dequantize(new Type([0, -half(bitwidth)]), enc), RangeError);
          }
        }
      }
    });

    it('unsignedSymmetric on data >= 0 falls back to tf with min 0, offset 0, unsigned codes', () => {
      for (const bitwidth of [4, 8, 16]) {
        for (const scheme of ['symmetric', 'tf_enhanced']) {
          const x = uniformArray(3000, 17 + bitwidth, 0, 6);
          x[10] = 0;
          x[11] = -0;
          x[12] = 6.5;
          const opts = { scheme, symmetric: true, unsignedSymmetric: true, bitwidth };
          const r = wq.quantize(x, opts);
          expect(r.encoding.isSymmetric).toBe(false);
          expect(r.encoding.offset).toBe(0);
          expect(r.encoding.min).toBe(0);
          expect(r.codes).toBeInstanceOf(codeTypeFor(bitwidth, false));
          expect(r.codes[10]).toBe(0);
          expect(r.codes[11]).toBe(0);
          if (scheme === 'symmetric') {
            expectEncodingExact(r.encoding, refEncoding(0, 6.5, { bitwidth }));
            expect(r.codes[12]).toBe(steps(bitwidth));
            expectCodesAllowed(x, r.codes, r.encoding, 'half-up', scheme);
          }
          // Any negative value: symmetric as usual.
          x[13] = -0.001;
          const s = wq.quantize(x, opts);
          expect(s.encoding.isSymmetric).toBe(true);
          expect(s.encoding.offset).toBe(-half(bitwidth));
          expect(s.codes).toBeInstanceOf(codeTypeFor(bitwidth, true));
          if (scheme === 'symmetric') {
            expectEncodingNear(s.encoding, refSymmetric(Math.fround(-0.001), 6.5, { bitwidth }));
          }
        }
      }
    });

    it('exact zero; all-zero data uses absmax = minRange / 2', () => {
      for (const bitwidth of [2, 8, 16]) {
        const r = wq.quantize(new Float32Array(50), { scheme: 'symmetric', bitwidth });
        expectEncodingNear(r.encoding, refSymmetric(0, 0, { bitwidth }), '', 1e-15);
        expect(r.codes.every((c) => c === 0)).toBe(true);
        const back = wq.dequantize(r.codes, r.encoding);
        expect(back.every((v) => Object.is(v, 0))).toBe(true);
        const m = wq.quantize(new Float32Array(10), { scheme: 'symmetric', bitwidth, minRange: 0.5 });
        expectEncodingNear(m.encoding, refSymmetric(0, 0, { bitwidth, minRange: 0.5 }), '', 1e-15);
      }
    });
  });

  // =========================================================================
  describe('per-channel (SPEC §3.2)', () => {
    const LAYOUTS = [
      ['OIHW axis 0', [4, 3, 3, 3], 0],
      ['OIHW axis 1', [4, 3, 3, 3], 1],
      ['HWIO axis -1', [3, 3, 2, 5], -1],
      ['HWIO axis 3', [3, 3, 2, 5], 3],
      ['[7] axis 0 (one element per channel)', [7], 0],
      ['[2, 1, 3] axis 1 (one channel)', [2, 1, 3], 1],
      ['[3, 40, 24] axis 1', [3, 40, 24], 1],
      ['[6, 50, 2] axis -2', [6, 50, 2], -2],
      ['[16, 8, 3, 3] axis 0', [16, 8, 3, 3], 0],
    ];

    // Channel c has its own spread and centre; one channel is all positive,
    // one all negative; element 0 is 0.0.
    function perChannelData(shape, axis, seed) {
      const l = layoutOf(shape, axis);
      const n = l.outer * l.channels * l.inner;
      const noise = normalArray(n, seed);
      const x = new Float32Array(n);
      for (let i = 0; i < n; i += 1) {
        const c = Math.floor(i / l.inner) % l.channels;
        let v = noise[i] * (0.25 + 0.5 * c) + 0.3 * (c % 3);
        if (l.channels > 2 && c === 1) v = Math.abs(v) + 0.1;
        if (l.channels > 2 && c === 2) v = -Math.abs(v) - 0.2;
        x[i] = v;
      }
      x[0] = 0;
      return x;
    }

    // The per-channel encoding result as an array (see the one-channel test
    // for what the SPEC asks when the channel axis has size 1).
    const asList = (encoding) => (Array.isArray(encoding) ? encoding : [encoding]);

    for (const [layoutName, shape, axis] of LAYOUTS) {
      for (const [schemeName, opts] of SCHEMES) {
        for (const bitwidth of [4, 8, 16]) {
          it(`equals each slice quantized alone: ${layoutName}, ${schemeName}, ${bitwidth} bits`, () => {
            const l = layoutOf(shape, axis);
            const x = perChannelData(shape, axis, 500 + bitwidth);
            const o = { ...opts, bitwidth };
            const r = wq.quantize(x, { ...o, shape, axis });
            const encodings = asList(r.encoding);
            expect(encodings.length).toBe(l.channels);
            expect(r.codes).toBeInstanceOf(codeTypeFor(bitwidth, isSymmetricScheme(o)));
            const xhat = wq.dequantize(r.codes, r.encoding, { shape, axis });
            for (let c = 0; c < l.channels; c += 1) {
              const indices = channelIndices(l, c);
              const slice = gather(x, indices);
              const alone = wq.quantize(slice, o);
              expectEncodingExact(encodings[c], alone.encoding, `channel ${c}`);
              expectSameArray(gather(r.codes, indices), alone.codes, `channel ${c} codes`);
              expectSameArray(gather(xhat, indices), wq.dequantize(alone.codes, alone.encoding), `channel ${c} x̂`);
              // and the encoding matches the SPEC model of the slice
              if (o.scheme !== 'tf_enhanced') {
                const { lo, hi } = o.scheme === 'percentile' ? percentileRange(slice, o.percentile) : finiteRange(slice);
                const want = isSymmetricScheme(o) ? refSymmetric(lo, hi, { bitwidth, strict: o.strict === true }) : refEncoding(lo, hi, { bitwidth });
                expectEncodingNear(encodings[c], want, `channel ${c} vs model`);
              }
            }
            // Given per-channel encodings reproduce the codes.
            const again = wq.quantize(x, { shape, axis, encoding: r.encoding, rounding: 'half-up' });
            expectSameArray(again.codes, r.codes, 'codes with the encodings given');
          });
        }
      }

      it(`analyze: each channel's report is the slice's, totals combine: ${layoutName}`, () => {
        const l = layoutOf(shape, axis);
        const x = perChannelData(shape, axis, 77);
        for (const [, opts] of [SCHEMES[0], SCHEMES[1], SCHEMES[3], SCHEMES[5]]) {
          const report = wq.analyze(x, { ...opts, shape, axis });
          const channels = report.channels ?? [{ ...report }];
          expect(channels.length).toBe(l.channels);
          let count = 0;
          let sq = 0;
          let clipped = 0;
          let maxAbs = 0;
          for (let c = 0; c < l.channels; c += 1) {
            const slice = gather(x, channelIndices(l, c));
            const want = wq.analyze(slice, opts);
            const got = channels[c];
            expectEncodingExact(got.encoding, want.encoding, `channel ${c}`);
            expect(got.count).toBe(slice.length);
            expect(got.count).toBe(want.count);
            expect(got.clipped).toBe(want.clipped);
            expect(got.maxAbsError).toBe(want.maxAbsError);
            const rel = (a, b) => (b === 0 ? Math.abs(a) : Math.abs(a - b) / Math.abs(b));
            // SPEC §4: a slice alone sums in float32 blocks, channels innermost in double.
            expect(rel(got.mse, want.mse)).toBeLessThanOrEqual(1e-5);
            expect(rel(got.meanAbsError, want.meanAbsError)).toBeLessThanOrEqual(1e-5);
            if (Number.isFinite(want.sqnrDb)) expect(Math.abs(got.sqnrDb - want.sqnrDb)).toBeLessThan(1e-4);
            else expect(got.sqnrDb).toBe(want.sqnrDb);
            count += want.count;
            sq += want.mse * want.count;
            clipped += want.clipped;
            maxAbs = Math.max(maxAbs, want.maxAbsError);
          }
          expect(report.count).toBe(x.length);
          expect(report.count).toBe(count);
          expect(report.clipped).toBe(clipped);
          expect(report.maxAbsError).toBe(maxAbs);
          expect(Math.abs(report.mse - sq / count)).toBeLessThanOrEqual(1e-5 * (sq / count));
          expect(report.rmse).toBeCloseTo(Math.sqrt(report.mse), 15);
        }
      });
    }

    it('a channel axis of size 1 still gives per-channel results: an array of one encoding', () => {
      // SPEC §3.2: "The encoding result is an array, one per channel".
      const x = new Float32Array([1, -2, 3, 4, 5, -6]);
      const r = wq.quantize(x, { shape: [2, 1, 3], axis: 1 });
      expect(Array.isArray(r.encoding)).toBe(true);
      expect(r.encoding.length).toBe(1);
      const report = wq.analyze(x, { shape: [2, 1, 3], axis: 1 });
      expect(Array.isArray(report.channels)).toBe(true);
      expect(report.channels.length).toBe(1);
    });

    it('negative axes count from the end', () => {
      const x = perChannelData([3, 3, 2, 5], 3, 9);
      for (const [neg, pos] of [
        [-1, 3],
        [-2, 2],
        [-3, 1],
        [-4, 0],
      ]) {
        const a = wq.quantize(x, { shape: [3, 3, 2, 5], axis: neg, scheme: 'symmetric' });
        const b = wq.quantize(x, { shape: [3, 3, 2, 5], axis: pos, scheme: 'symmetric' });
        expect(a.encoding).toEqual(b.encoding);
        expectSameArray(a.codes, b.codes, `axis ${neg}`);
      }
    });

    it('errors name the option', () => {
      const x = perChannelData([4, 3, 3, 3], 0, 10);
      const { encoding } = wq.quantize(x, { shape: [4, 3, 3, 3], axis: 0 });
      // wrong number of encodings
      expectWasmquantError(() => wq.quantize(x, { shape: [4, 3, 3, 3], axis: 0, encoding: encoding.slice(0, 3) }), RangeError, /encoding/);
      expectWasmquantError(
        () => wq.dequantize(new Uint8Array(x.length), encoding.slice(1), { shape: [4, 3, 3, 3], axis: 0 }),
        RangeError,
        /encoding/,
      );
      // one encoding where the layout has 4 channels, and an array without a layout
      expectWasmquantError(() => wq.quantize(x, { shape: [4, 3, 3, 3], axis: 0, encoding: encoding[0] }), RangeError, /encoding/);
      expectWasmquantError(() => wq.quantize(x, { encoding }), RangeError, /encoding/);
      // axis out of range
      for (const axis of [4, -5, 10]) {
        expectWasmquantError(() => wq.quantize(x, { shape: [4, 3, 3, 3], axis }), RangeError, /axis/);
        expectWasmquantError(() => wq.analyze(x, { shape: [4, 3, 3, 3], axis }), RangeError, /axis/);
      }
      expectWasmquantError(() => wq.quantize(x, { shape: [4, 3, 3, 3], axis: 1.5 }), TypeError, /axis/);
      // shape product != length
      expectWasmquantError(() => wq.quantize(x, { shape: [4, 3, 3, 2], axis: 0 }), RangeError, /shape/);
      expectWasmquantError(() => wq.analyze(x, { shape: [5, 3, 3, 3], axis: 0 }), RangeError, /shape/);
      // axis without shape
      expectWasmquantError(() => wq.quantize(x, { axis: 0 }), TypeError, /axis/, /shape/);
      expectWasmquantError(() => wq.analyze(x, { axis: 0 }), TypeError, /axis/, /shape/);
    });
  });

  // =========================================================================
  describe('tf_enhanced (SPEC §3.3)', () => {
    it('hand-checked: clipping an outlier is cheaper (2 bits)', () => {
      // 10000 each of 0, 1, 2 and one 48. lo = 0, hi = 48, maxStep = 16;
      // every candidate is [0, M] with M in {k, 2k, 3k}, k = 1..17. Over the
      // bucket centres: tf (M = 48) puts 1 and 2 on code 0, ~50000; M = 3
      // holds the data and clips the outlier, ~27 + 3 * 44.95^2 ~ 6090;
      // M = 2 ~ 7300, M = 4 ~ 11250, larger M more. So [0, 3].
      const x = new Float32Array(30001);
      for (let i = 0; i < 30000; i += 1) x[i] = i % 3;
      x[30000] = 48;
      const r = wq.quantize(x, { scheme: 'tf_enhanced', bitwidth: 2 });
      expect(r.encoding).toEqual({ bitwidth: 2, min: 0, max: 3, scale: 1, offset: 0, isSymmetric: false });
      expect(Array.from(r.codes.subarray(0, 3))).toEqual([0, 1, 2]);
      expect(r.codes[30000]).toBe(3);
      const tf = wq.quantize(x, { bitwidth: 2 });
      expect(sqnrDb(x, wq.dequantize(r.codes, r.encoding))).toBeGreaterThan(sqnrDb(x, wq.dequantize(tf.codes, tf.encoding)));
    });

    it('hand-checked symmetric: f = 0.02 of absmax 50 (2 bits)', () => {
      // 10000 each of -1, 0, 1 and one 50: the grid {-2, -1, 0, 1} (s = 1)
      // holds the data and clips the outlier (~7250); s = 1.5 costs ~12100,
      // s = 0.5 clips the ones (~8800 + 7300).
      const x = new Float32Array(30001);
      for (let i = 0; i < 30000; i += 1) x[i] = (i % 3) - 1;
      x[30000] = 50;
      const r = wq.quantize(x, { scheme: 'tf_enhanced', symmetric: true, bitwidth: 2 });
      expect(r.encoding.isSymmetric).toBe(true);
      expect(r.encoding.offset).toBe(-2);
      expect(r.encoding.scale).toBeCloseTo(1, 12);
      expect(r.encoding.min).toBeCloseTo(-2, 12);
      expect(r.encoding.max).toBeCloseTo(1, 12);
      expect(r.codes).toBeInstanceOf(Int8Array);
      expect(Array.from(r.codes.subarray(0, 3))).toEqual([-1, 0, 1]);
      expect(r.codes[30000]).toBe(1);
    });

    it('keeps exact zero (integer offset) and the minimum range', () => {
      const cases = [
        [new Float32Array(100).fill(2.75), 0.01],
        [new Float32Array(100), 0.01],
        [new Float32Array(100).fill(-3), 0.5],
        [uniformArray(1000, 5, -0.002, 0.003), 0.01],
        [uniformArray(1000, 6, -0.002, 0.003), 0.25],
        [uniformArray(1000, 7, 10, 10.001), 0.01],
        [new Float32Array([0, 1e-6]), 1e-3],
      ];
      for (const bitwidth of [2, 8, 16]) {
        for (const symmetric of [false, true]) {
          cases.forEach(([x, minRange], k) => {
            const what = `case ${k}, ${bitwidth} bits${symmetric ? ', symmetric' : ''}`;
            const r = wq.quantize(x, { scheme: 'tf_enhanced', bitwidth, symmetric, minRange });
            const e = r.encoding;
            expect(e.max - e.min, what).toBeGreaterThanOrEqual(minRange * (1 - 1e-12));
            expect(Number.isInteger(e.offset), what).toBe(true);
            expect(Math.abs(e.min - e.offset * e.scale), what).toBeLessThanOrEqual(1e-15 * Math.abs(e.min));
            const { zero } = codeRange(e);
            const z = wq.quantize(new Float32Array([0, -0]), { encoding: e });
            expect(Array.from(z.codes), what).toEqual([zero, zero]);
            expect(Object.is(wq.dequantize(z.codes, e)[0], 0), what).toBe(true);
          });
        }
      }
    });

    it('is deterministic, and the same in several chunks', () => {
      const x = laplaceWithOutliers(3 * 65536 + 123, 7, { outliers: 5 });
      for (const symmetric of [false, true]) {
        const a = wq.quantize(x, { scheme: 'tf_enhanced', symmetric });
        const b = wq.quantize(x, { scheme: 'tf_enhanced', symmetric });
        expect(a.encoding).toEqual(b.encoding);
        expectSameArray(a.codes, b.codes, 'codes');
        // A Float32Array goes through in chunks of 65536, a WasmTensor in
        // one: the same encoding and codes.
        const t = wq.allocTensor(x.length);
        try {
          t.data.set(x);
          const c = wq.quantize(t, { scheme: 'tf_enhanced', symmetric });
          expect(c.encoding).toEqual(a.encoding);
          expectSameArray(c.codes, a.codes, 'codes from a tensor');
        } finally {
          t.free();
        }
      }
    });
  });

  // =========================================================================
  describe('percentile (SPEC §3.4)', () => {
    it('hand-computed ranks', () => {
      // 1..10, p = 90: ranks ceil(1) = 1 and ceil(9) = 9: [1, 9] -> [0, 9].
      let r = wq.quantize(new Float32Array([7, 3, 10, 1, 9, 2, 8, 6, 4, 5]), { scheme: 'percentile', percentile: 90 });
      expect(r.encoding.offset).toBe(0);
      expect(r.encoding.scale).toBe(9 / 255);
      expect(r.codes[2]).toBe(255); // 10 > hi saturates
      // -10..-1, p = 85: ranks ceil(1.5) = 2 -> -9 and ceil(8.5) = 9 -> -2.
      r = wq.quantize(new Float32Array([-7, -3, -10, -1, -9, -2, -8, -6, -4, -5]), {
        scheme: 'percentile',
        percentile: 85,
      });
      expect(r.encoding.offset).toBe(-255);
      expect(r.encoding.scale).toBe(9 / 255);
      // [4, -2], p = 50: both ranks are 1 (-2): [-2, -1.99] -> [-2, 0].
      r = wq.quantize(new Float32Array([4, -2]), { scheme: 'percentile', percentile: 50 });
      expect(r.encoding).toEqual(refEncoding(-2, -2, {}));
      // p = 100 is min/max: the tf encoding.
      const x = normalArray(5000, 5, { mean: 1, sigma: 2 });
      expect(wq.quantize(x, { scheme: 'percentile', percentile: 100 }).encoding).toEqual(wq.quantize(x).encoding);
      // the default p is 99.99: with 10000 values, ranks 1 and 9999.
      const y = new Float32Array(10000);
      for (let i = 0; i < y.length; i += 1) y[i] = ((i * 7919) % 10000) - 5000;
      expect(wq.quantize(y, { scheme: 'percentile' }).encoding).toEqual(refEncoding(-5000, 4998, {}));
    });

    it('NaN / ±Inf with saturate are excluded from the ranks and coded per §6', () => {
      const x = new Float32Array([Number.NaN, -4, -3, Infinity, -2, -1, 0, -Infinity, 1, 2, 3, Number.NaN, 4, 5]);
      const r = wq.quantize(x, { scheme: 'percentile', percentile: 90, nonFinite: 'saturate' });
      // 10 finite values -4..5: ranks 1 and 9 -> -4 and 4.
      expectEncodingExact(r.encoding, refEncoding(-4, 4, {}));
      const z = -r.encoding.offset;
      expect([r.codes[0], r.codes[11], r.codes[3], r.codes[7], r.codes[13]]).toEqual([z, z, 255, 0, 255]);
      const s = wq.quantize(x, { scheme: 'percentile', percentile: 90, nonFinite: 'saturate', symmetric: true });
      expect([s.codes[0], s.codes[3], s.codes[7]]).toEqual([0, 127, -128]);
      const report = wq.analyze(x, { scheme: 'percentile', percentile: 90, nonFinite: 'saturate' });
      expect(report.count).toBe(10);
      expect(report.nonFinite).toBe(4);
      expectWasmquantError(() => wq.quantize(x, { scheme: 'percentile' }), RangeError, /\b0\b/);
    });

    it('±0: ranks that land on -0 or +0 give the encoding of 0', () => {
      const x = new Float32Array([-0, 0, -0, 0, 3, -0, 0, 0, -0, 0]);
      for (const p of [50, 90, 99.99]) {
        const { lo, hi } = percentileRange(x, p);
        const r = wq.quantize(x, { scheme: 'percentile', percentile: p });
        expectEncodingExact(r.encoding, refEncoding(lo, hi, {}), `p ${p}`);
        expect(r.codes[0]).toBe(0);
        expect(r.codes[1]).toBe(0);
      }
    });
  });

  // =========================================================================
  describe('4-bit packing (SPEC §3.5)', () => {
    it('[10, 4] packs into one byte 0b0100_1010', () => {
      const r = wq.quantize(new Float32Array([10, 4]), { encoding: { bitwidth: 4, scale: 1, offset: 0 }, pack: true });
      expect(r.codes).toBeInstanceOf(Uint8Array);
      expect(Array.from(r.codes)).toEqual([0b0100_1010]);
      const back = wq.dequantize(r.codes, r.encoding, { pack: true });
      expect(Array.from(back)).toEqual([10, 4]);
    });

    for (const n of [1, 2, 3, 5, 27, 65536 * 2 + 3]) {
      it(`odd and even lengths: ${n} values in ${Math.ceil(n / 2)} bytes`, () => {
        const x = normalArray(n, 60 + n);
        for (const scheme of ['tf', 'symmetric']) {
          const plain = wq.quantize(x, { bitwidth: 4, scheme });
          const packed = wq.quantize(x, { bitwidth: 4, scheme, pack: true });
          expect(packed.encoding).toEqual(plain.encoding);
          expect(packed.codes).toBeInstanceOf(Uint8Array);
          expect(packed.codes.length).toBe(Math.ceil(n / 2));
          expectSameArray(packed.codes, packByHand(plain.codes, n), `${scheme} packed bytes`);
          if (n % 2) expect(packed.codes[packed.codes.length - 1] >> 4).toBe(0);
          // round trip, bit for bit the unpacked path
          const back = wq.dequantize(packed.codes, packed.encoding, { pack: true, shape: [n] });
          expectSameArray(back, wq.dequantize(plain.codes, plain.encoding), `${scheme} round trip`);
        }
      });
    }

    it("signed 4-bit codes are two's-complement nibbles and unpack back", () => {
      const encoding = { bitwidth: 4, scale: 1, offset: -8, isSymmetric: true };
      const x = new Float32Array([-8, 7, -1, 0, 3]);
      const r = wq.quantize(x, { encoding, pack: true });
      expect(Array.from(r.codes)).toEqual([0x78, 0x0f, 0x03]);
      const back = wq.dequantize(r.codes, encoding, { pack: true, shape: [5] });
      expect(Array.from(back)).toEqual([-8, 7, -1, 0, 3]);
      // every signed code, both nibble positions
      const all = new Float32Array(17);
      for (let i = 0; i < 16; i += 1) all[i] = i - 8;
      all[16] = -5;
      const p = wq.quantize(all, { encoding, pack: true });
      expectSameArray(p.codes, packByHand(Int8Array.from(all), 17), 'packed');
      expect(Array.from(wq.dequantize(p.codes, encoding, { pack: true, shape: [17] }))).toEqual(Array.from(all));
    });

    it('per-channel: each channel row packs on its own (27 values: 14 bytes)', () => {
      for (const [shape, opts] of [
        [[4, 3, 3, 3], { scheme: 'tf' }],
        [[4, 3, 3, 3], { scheme: 'symmetric' }],
        [[3, 27], { scheme: 'tf_enhanced' }],
        [[5, 4], { scheme: 'percentile', percentile: 90 }],
        [[1, 4, 5], { scheme: 'symmetric', strict: true }],
      ]) {
        const axis = shape.length === 3 && shape[0] === 1 ? 1 : 0;
        const l = layoutOf(shape, axis);
        const x = normalArray(l.outer * l.channels * l.inner, 70 + shape[0]);
        const plain = wq.quantize(x, { ...opts, bitwidth: 4, shape, axis });
        const packed = wq.quantize(x, { ...opts, bitwidth: 4, shape, axis, pack: true });
        expect(packed.encoding).toEqual(plain.encoding);
        expect(packed.codes.length).toBe(l.channels * Math.ceil(l.inner / 2));
        expectSameArray(packed.codes, packByHand(plain.codes, l.inner), `${shape} packed`);
        const back = wq.dequantize(packed.codes, packed.encoding, { pack: true, shape, axis });
        expectSameArray(back, wq.dequantize(plain.codes, plain.encoding, { shape, axis }), `${shape} round trip`);
      }
      const x = normalArray(108, 3);
      expect(wq.quantize(x, { bitwidth: 4, shape: [4, 3, 3, 3], axis: 0, pack: true }).codes.length).toBe(56);
      // channels that are not contiguous rows cannot pack separately
      expectWasmquantError(() => wq.quantize(x, { bitwidth: 4, shape: [4, 3, 3, 3], axis: 1, pack: true }), RangeError, /axis 0/);
    });

    it('pack needs bitwidth 4', () => {
      const x = normalArray(10, 4);
      for (const bitwidth of [2, 3, 5, 8, 16]) {
        expectWasmquantError(() => wq.quantize(x, { bitwidth, pack: true }), RangeError, /pack/, /bitwidth/);
        const r = wq.quantize(x, { bitwidth });
        expectWasmquantError(() => wq.dequantize(new Uint8Array(5), r.encoding, { pack: true }), RangeError, /pack/, /bitwidth/);
      }
      expectWasmquantError(() => wq.quantize(x, { encoding: { bitwidth: 8, scale: 0.1, offset: -10 }, pack: true }), RangeError, /bitwidth/);
    });
  });

  // =========================================================================
  describe('every scheme at every bitwidth', () => {
    const ALL = [
      ...SCHEMES,
      ['unsignedSymmetric', { scheme: 'symmetric', unsignedSymmetric: true }],
      ['tf_enhanced strict', { scheme: 'tf_enhanced', symmetric: true, strict: true }],
      ['percentile default', { scheme: 'percentile' }],
    ];
    for (const [name, opts] of ALL) {
      it(`codes within range, exact zero, code type: ${name}`, () => {
        const x = laplaceWithOutliers(5000, 123, { b: 0.7, outliers: 4 });
        if (opts.unsignedSymmetric) for (let i = 0; i < x.length; i += 1) x[i] = Math.abs(x[i]);
        x[5] = 0;
        x[6] = -0;
        for (let bitwidth = 2; bitwidth <= 16; bitwidth += 1) {
          const what = `${name}, ${bitwidth} bits`;
          const r = wq.quantize(x, { ...opts, bitwidth });
          const symmetric = isSymmetricScheme(opts) && !opts.unsignedSymmetric;
          const e = r.encoding;
          expect(e.isSymmetric, what).toBe(symmetric);
          expect(e.bitwidth, what).toBe(bitwidth);
          expect(r.codes, what).toBeInstanceOf(codeTypeFor(bitwidth, symmetric));
          if (symmetric) expect(e.offset, what).toBe(opts.strict ? 1 - half(bitwidth) : -half(bitwidth));
          else expect(e.offset >= -steps(bitwidth) && e.offset <= 0, what).toBe(true);
          if (opts.unsignedSymmetric) expect(e.offset, what).toBe(0);
          const { low, high, zero } = codeRange(e);
          let lowest = Infinity;
          let highest = -Infinity;
          for (const c of r.codes) {
            if (c < lowest) lowest = c;
            if (c > highest) highest = c;
          }
          expect(lowest, what).toBeGreaterThanOrEqual(low);
          expect(highest, what).toBeLessThanOrEqual(high);
          expect([r.codes[5], r.codes[6]], what).toEqual([zero, zero]);
          const Type = codeTypeFor(bitwidth, symmetric);
          const back = wq.dequantize(new Type([zero, low, high]), e);
          expect(Object.is(back[0], 0), what).toBe(true);
          expect(Math.abs(back[1] - e.min), what).toBeLessThanOrEqual(1e-6 * Math.abs(e.min));
          expect(Math.abs(back[2] - e.max), what).toBeLessThanOrEqual(1e-6 * Math.abs(e.max));
        }
      });
    }
  });
});

describe('computeEncoding works on a range only', () => {
  it('refuses the options that need the data, naming them', async () => {
    const wq = await quantizerFor('simd128');
    for (const opts of [{ scheme: 'tf_enhanced' }, { scheme: 'percentile' }, { shape: [2, 2], axis: 0 }, { bitwidth: 4, pack: true }]) {
      expectWasmquantError(() => wq.computeEncoding(-1, 1, opts), RangeError, /computeEncoding/, /quantize or analyze/);
    }
    // 'symmetric' is a range scheme: SPEC §3.1 on [-1, 0.5]
    const e = wq.computeEncoding(-1, 0.5, { scheme: 'symmetric' });
    expect(e).toEqual({ bitwidth: 8, min: -128 / 127, max: 1, scale: 1 / 127, offset: -128, isSymmetric: true });
  });
});
