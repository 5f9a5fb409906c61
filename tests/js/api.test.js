// The JS API (docs/design.md "The JavaScript API") against the SPEC model in
// helpers.js: given encodings, result shapes, rounding, minRange, the
// analyze() report, inputs of several chunks, and the zero-copy tensor.
import { beforeAll, describe, expect, it } from 'vitest';
import { createQuantizer } from '../../web/index.js';
import {
  ambiguityBudget,
  BACKENDS,
  CHUNK,
  compareWithReference,
  expectClose,
  expectEncodingClose,
  expectSameArray,
  expectWasmquantError,
  gridPosition,
  normalArray,
  quantizerFor,
  refDequantize,
  refEncoding,
  refEncodingOf,
  roundHalfEven,
  roundHalfUp,
  steps,
} from './helpers.js';

const ENCODING_KEYS = ['bitwidth', 'isSymmetric', 'max', 'min', 'offset', 'scale'];
const codeType = (bitwidth) => (bitwidth <= 8 ? Uint8Array : Uint16Array);

// SPEC §4 in double precision, from x and x̂ = dequantize(quantize(x)).
function reportFrom(x, x2, encoding) {
  let sqErr = 0;
  let absErr = 0;
  let maxAbs = 0;
  let sqSig = 0;
  let clipped = 0;
  let nearClipEdge = 0;
  const lowEdge = encoding.min - encoding.scale / 2;
  const highEdge = encoding.max + encoding.scale / 2;
  for (let i = 0; i < x.length; i += 1) {
    const e = Math.abs(x2[i] - x[i]);
    sqErr += e * e;
    absErr += e;
    sqSig += x[i] * x[i];
    if (e > maxAbs) maxAbs = e;
    if (x[i] < lowEdge || x[i] > highEdge) clipped += 1;
    const edgeDistance = Math.min(Math.abs(x[i] - lowEdge), Math.abs(x[i] - highEdge));
    if (edgeDistance < 1e-5 * encoding.scale) nearClipEdge += 1;
  }
  const mse = sqErr / x.length;
  return {
    mse,
    rmse: Math.sqrt(mse),
    maxAbsError: maxAbs,
    meanAbsError: absErr / x.length,
    sqnrDb: sqErr === 0 ? Infinity : 10 * Math.log10(sqSig / sqErr),
    clipped,
    nearClipEdge,
  };
}

function expectReport(report, expected, n) {
  expect(report.count).toBe(n);
  expect(report.nonFinite).toBe(0);
  expectClose(report.mse, expected.mse, 1e-6, 'mse');
  expectClose(report.rmse, expected.rmse, 1e-6, 'rmse');
  expectClose(report.maxAbsError, expected.maxAbsError, 1e-6, 'maxAbsError');
  expectClose(report.meanAbsError, expected.meanAbsError, 1e-6, 'meanAbsError');
  if (expected.sqnrDb === Infinity) {
    expect(report.sqnrDb).toBe(Infinity);
  } else {
    expect(Math.abs(report.sqnrDb - expected.sqnrDb)).toBeLessThan(1e-5);
  }
  expect(Math.abs(report.clipped - expected.clipped)).toBeLessThanOrEqual(expected.nearClipEdge);
}

describe.each(BACKENDS)('API, backend %s', (backend) => {
  let wq;
  beforeAll(async () => {
    wq = await quantizerFor(backend);
  });

  describe('result shapes', () => {
    it('encodings have exactly {bitwidth, min, max, scale, offset, isSymmetric}', () => {
      const x = normalArray(100, 1);
      const encodings = [
        wq.computeEncoding(-1, 2),
        wq.computeEncoding(-1, 2, { bitwidth: 12 }),
        wq.quantize(x).encoding,
        wq.quantize(x, { encoding: { bitwidth: 8, scale: 0.01, offset: -100 } }).encoding,
        wq.analyze(x).encoding,
        wq.analyze(x, { encoding: { bitwidth: 5, scale: 0.2, offset: -3 } }).encoding,
      ];
      for (const e of encodings) {
        expect(Object.keys(e).sort()).toEqual(ENCODING_KEYS);
        expect(Object.getPrototypeOf(e)).toBe(Object.prototype);
        expect(typeof e.bitwidth).toBe('number');
        expect(typeof e.min).toBe('number');
        expect(typeof e.max).toBe('number');
        expect(typeof e.scale).toBe('number');
        expect(Number.isInteger(e.offset)).toBe(true);
        expect(e.isSymmetric).toBe(false);
        // min and max are the nudged ends, consistent with scale and offset.
        expectClose(e.min, e.offset * e.scale, 1e-12, 'min');
        expectClose(e.max, e.min + steps(e.bitwidth) * e.scale, 1e-12, 'max');
      }
    });

    it('the report has the SPEC §4 fields and the encoding', () => {
      const r = wq.analyze(normalArray(100, 2));
      expect(Object.keys(r).sort()).toEqual(['clipped', 'count', 'encoding', 'maxAbsError', 'meanAbsError', 'mse', 'nonFinite', 'rmse', 'sqnrDb']);
    });

    it('codes are Uint8Array up to 8 bits and Uint16Array above', () => {
      const x = normalArray(50, 3);
      for (let bitwidth = 2; bitwidth <= 16; bitwidth += 1) {
        const { codes, encoding } = wq.quantize(x, { bitwidth });
        expect(codes.constructor, `bitwidth ${bitwidth}`).toBe(codeType(bitwidth));
        expect(codes.length).toBe(x.length);
        expect(encoding.bitwidth).toBe(bitwidth);
        const x2 = wq.dequantize(codes, encoding);
        expect(x2.constructor).toBe(Float32Array);
        expect(x2.length).toBe(x.length);
        // the codes span the grid: the smallest and largest elements sit at
        // (or within one step of) the ends of the range
        expect(Math.min(...codes)).toBeLessThanOrEqual(1);
        expect(Math.max(...codes)).toBeGreaterThanOrEqual(steps(bitwidth) - 1);
      }
    });

    it('returns fresh arrays, not views of wasm memory', () => {
      const x = normalArray(1000, 4);
      const { codes, encoding } = wq.quantize(x);
      const x2 = wq.dequantize(codes, encoding);
      const copy = codes.slice();
      const copy2 = x2.slice();
      expect(codes.byteOffset).toBe(0);
      expect(codes.buffer.byteLength).toBe(codes.byteLength);
      expect(x2.buffer.byteLength).toBe(x2.byteLength);
      // later calls reuse the scratch; earlier results must not change
      wq.quantize(normalArray(1000, 5));
      wq.dequantize(new Uint8Array(1000).fill(7), encoding);
      expect(codes).toEqual(copy);
      expect(x2).toEqual(copy2);
    });

    it('does not modify its input', () => {
      const x = normalArray(CHUNK + 10, 6);
      x[5] = Number.NaN;
      const before = x.slice();
      wq.quantize(x, { nonFinite: 'saturate' });
      wq.analyze(x, { nonFinite: 'saturate' });
      expectSameArray(x, before, 'input');
    });
  });

  describe('given encodings (no calibration)', () => {
    const datasets = [
      ['normal', () => normalArray(5000, 11, { sigma: 0.7 })],
      ['positive', () => normalArray(3000, 12, { mean: 20, sigma: 3 })],
      ['negative', () => normalArray(3000, 13, { mean: -5, sigma: 1 })],
      ['constant', () => new Float32Array(40).fill(-2.5)],
    ];
    for (const [name, make] of datasets) {
      for (const bitwidth of [2, 4, 8, 11, 16]) {
        for (const rounding of ['half-up', 'half-even']) {
          it(`reproduce the calibrated codes: ${name}, ${bitwidth} bits, ${rounding}`, () => {
            const x = make();
            const calibrated = wq.quantize(x, { bitwidth, rounding });
            const again = wq.quantize(x, { encoding: calibrated.encoding, rounding });
            expect(again.encoding).toEqual(calibrated.encoding);
            expectSameArray(again.codes, calibrated.codes, 'codes');
            // only scale and offset are needed; min/max are derived
            const { scale, offset } = calibrated.encoding;
            const minimal = wq.quantize(x, { encoding: { bitwidth, scale, offset }, rounding });
            expectSameArray(minimal.codes, calibrated.codes, 'codes');
            expectEncodingClose(minimal.encoding, calibrated.encoding, 1e-12);
            // and bitwidth may be repeated in the options when it agrees
            const repeated = wq.quantize(x, { bitwidth, encoding: calibrated.encoding, rounding });
            expectSameArray(repeated.codes, calibrated.codes, 'codes');
          });
        }
      }
    }

    it('apply a range narrower than the data (saturating) as the SPEC says', () => {
      const x = normalArray(20000, 14, { sigma: 2 });
      const encoding = { bitwidth: 8, scale: 0.01, offset: -100 }; // [-1, 1.55]
      const { codes, encoding: used } = wq.quantize(x, { encoding });
      expectEncodingClose(used, { ...encoding, min: -1, max: 1.55, isSymmetric: false }, 1e-12);
      const cmp = compareWithReference(x, codes, used);
      expect(cmp.firstMismatch).toBeNull();
      expect(cmp.ambiguous).toBeLessThan(ambiguityBudget(x.length, 8));
      // many values saturate at both ends
      expect(codes.filter((q) => q === 0).length).toBeGreaterThan(5500);
      expect(codes.filter((q) => q === 255).length).toBeGreaterThan(4000);
    });

    it('bitwidth in the options must agree with the encoding', () => {
      const x = normalArray(10, 15);
      expectWasmquantError(() => wq.quantize(x, { bitwidth: 4, encoding: { bitwidth: 8, scale: 0.1, offset: -3 } }), RangeError, /bitwidth/);
    });
  });

  describe('rounding on exact ties', () => {
    // scale 1/4 and z = 128: x = (j + 1/2) / 4 lands exactly on t = 128 + j + 1/2
    // in float32 and in double.
    const encoding = { bitwidth: 8, scale: 0.25, offset: -128 };
    const js = Array.from({ length: 61 }, (_, k) => k - 30);
    const x = Float32Array.from(js, (j) => (j + 0.5) / 4);

    it('half-up takes floor(t + 0.5), half-even the even neighbour', () => {
      const up = wq.quantize(x, { encoding }).codes;
      const upExplicit = wq.quantize(x, { encoding, rounding: 'half-up' }).codes;
      const even = wq.quantize(x, { encoding, rounding: 'half-even' }).codes;
      expect(upExplicit).toEqual(up); // half-up is the default
      js.forEach((j, i) => {
        const t = 128 + j + 0.5;
        expect(up[i], `half-up t=${t}`).toBe(Math.floor(t + 0.5));
        expect(even[i] % 2, `half-even t=${t}`).toBe(0);
        expect(Math.abs(even[i] - t)).toBe(0.5);
      });
      // spelled out for a few: t = 128.5, 129.5, 127.5, 126.5
      const some = Float32Array.of(0.125, 0.375, -0.125, -0.375);
      expect(Array.from(wq.quantize(some, { encoding }).codes)).toEqual([129, 130, 128, 127]);
      expect(Array.from(wq.quantize(some, { encoding, rounding: 'half-even' }).codes)).toEqual([128, 130, 128, 126]);
      expect(up).not.toEqual(even);
    });

    it('ties after calibration, and in the report', () => {
      // [-32, 31.75] calibrates to exactly scale 0.25, offset -128
      const y = Float32Array.from([-32, 31.75, ...x]);
      const up = wq.quantize(y);
      const even = wq.quantize(y, { rounding: 'half-even' });
      expect(up.encoding).toEqual({ ...encoding, min: -32, max: 31.75, isSymmetric: false });
      expect(even.encoding).toEqual(up.encoding);
      for (let i = 2; i < y.length; i += 1) {
        const t = gridPosition(y[i], up.encoding);
        expect(up.codes[i]).toBe(roundHalfUp(t));
        expect(even.codes[i]).toBe(roundHalfEven(t));
      }
      // every tie is off by exactly half a step, whichever way it rounds
      for (const rounding of ['half-up', 'half-even']) {
        const r = wq.analyze(x, { encoding, rounding });
        expect(r.maxAbsError).toBe(0.125);
        expect(r.meanAbsError).toBe(0.125);
        expect(r.mse).toBe(0.125 ** 2);
        expect(r.clipped).toBe(0);
      }
    });

    it('16-bit ties and ties at the ends of the range', () => {
      const enc16 = { bitwidth: 16, scale: 2 ** -10, offset: -32768 };
      const ties = Float32Array.from([0.5, 1.5, 2.5, -0.5, -1.5, 1000.5, -1000.5], (k) => k * 2 ** -10);
      const up = wq.quantize(ties, { encoding: enc16 }).codes;
      const even = wq.quantize(ties, { encoding: enc16, rounding: 'half-even' }).codes;
      expect(Array.from(up)).toEqual([32769, 32770, 32771, 32768, 32767, 33769, 31768]);
      expect(Array.from(even)).toEqual([32768, 32770, 32770, 32768, 32766, 33768, 31768]);
      // t = -0.5 and t = steps + 0.5 round outside and are clamped
      const ends = Float32Array.of(-128.5 / 4, 127.5 / 4);
      for (const rounding of ['half-up', 'half-even']) {
        expect(Array.from(wq.quantize(ends, { encoding, rounding }).codes)).toEqual([0, 255]);
      }
    });

    it('the two modes agree away from ties', () => {
      const y = normalArray(20000, 21);
      const up = wq.quantize(y).codes;
      const even = wq.quantize(y, { rounding: 'half-even' }).codes;
      const enc = wq.quantize(y).encoding;
      let differ = 0;
      for (let i = 0; i < y.length; i += 1) {
        if (up[i] === even[i]) continue;
        differ += 1;
        const t = gridPosition(y[i], enc);
        expect(Math.abs(t - Math.floor(t) - 0.5)).toBeLessThan(1e-4);
      }
      expect(differ).toBeLessThan(10);
    });
  });

  describe('minRange', () => {
    it('widens a constant tensor to [0, 5 + minRange]', () => {
      const x = new Float32Array(20).fill(5);
      for (const minRange of [0.01, 1e-4, 1, 3.5]) {
        const { codes, encoding } = wq.quantize(x, { minRange });
        expectEncodingClose(encoding, refEncoding(5, 5, { minRange }), 1e-12);
        expectClose(encoding.max, 5 + minRange, 1e-12, 'max');
        const expected = roundHalfUp((5 - encoding.min) / encoding.scale);
        expect(codes.every((q) => q === expected)).toBe(true);
        expectEncodingClose(wq.computeEncoding(5, 5, { minRange }), encoding, 1e-12);
      }
    });

    it('applies before zero is pulled into the range (SPEC §2 steps 2-3)', () => {
      // lo = 0.001, hi = max(0.002, 0.011) = 0.011, then lo = 0
      const x = Float32Array.of(0.001, 0.002);
      const { encoding } = wq.quantize(x);
      expectEncodingClose(encoding, refEncodingOf(x), 1e-12);
      expectClose(encoding.max, Math.fround(0.001) + 0.01, 1e-9, 'max');
      // a small negative-only range: hi = lo + minRange stays negative, then 0
      const neg = Float32Array.of(-0.5, -0.499);
      const e2 = wq.quantize(neg, { minRange: 0.2 }).encoding;
      expectEncodingClose(e2, refEncodingOf(neg, { minRange: 0.2 }), 1e-12);
      expect(e2.max).toBe(0);
      expect(e2.min).toBeCloseTo(-0.5, 12);
    });

    it('has no effect on a range wider than it', () => {
      const x = Float32Array.of(-1, 3);
      expect(wq.quantize(x, { minRange: 0.5 }).encoding).toEqual(wq.quantize(x).encoding);
      expectEncodingClose(wq.computeEncoding(-1, 3, { minRange: 3.9 }), refEncoding(-1, 3), 1e-12);
      // ... and takes effect as soon as it is wider
      expectEncodingClose(wq.computeEncoding(-1, 3, { minRange: 5 }), refEncoding(-1, 3, { minRange: 5 }), 1e-12);
      expectClose(wq.computeEncoding(-1, 3, { minRange: 5 }).scale, 5 / 255, 1e-9);
    });
  });

  describe('analyze() against a double-precision report of dequantize(quantize(x))', () => {
    const cases = [
      ['normal, calibrated', () => normalArray(30001, 31), {}],
      ['normal, 4 bits, half-even', () => normalArray(10007, 32), { bitwidth: 4, rounding: 'half-even' }],
      ['normal, 16 bits', () => normalArray(10007, 33, { mean: 3 }), { bitwidth: 16 }],
      ['clipping by a narrow given encoding', () => normalArray(20000, 34, { sigma: 2 }), { encoding: { bitwidth: 8, scale: 0.01, offset: -100 } }],
      ['several chunks', () => normalArray(CHUNK * 2 + 333, 35, { sigma: 0.1 }), { encoding: { bitwidth: 6, scale: 0.005, offset: -40 } }],
    ];
    for (const [name, make, options] of cases) {
      it(name, () => {
        const x = make();
        const { codes, encoding } = wq.quantize(x, options);
        const x2 = wq.dequantize(codes, encoding);
        const report = wq.analyze(x, options);
        expect(report.encoding).toEqual(encoding);
        const expected = reportFrom(x, x2, encoding);
        expectReport(report, expected, x.length);
        if (options.encoding) expect(report.clipped).toBeGreaterThan(1000);
      });
    }

    it('zero error: sqnrDb is Infinity', () => {
      const x = Float32Array.from([0, 0.25, -0.5, 3, -7.75]);
      const r = wq.analyze(x, { encoding: { bitwidth: 8, scale: 0.25, offset: -128 } });
      expect(r).toMatchObject({ mse: 0, rmse: 0, maxAbsError: 0, meanAbsError: 0, sqnrDb: Infinity, clipped: 0, count: 5 });
    });

    it('a clipped element is one more than half a step outside [min, max]', () => {
      const encoding = { bitwidth: 8, scale: 0.25, offset: -128 }; // [-32, 31.75]
      // 31.75 + 0.125 is exactly the edge (not clipped); just above it is.
      const x = Float32Array.of(31.875, 31.9, 100, -32.125, -32.2, -100, 0);
      const r = wq.analyze(x, { encoding });
      expect(r.clipped).toBe(4);
    });
  });

  describe(`inputs of several chunks (${CHUNK * 3 + 17} elements)`, () => {
    const n = CHUNK * 3 + 17;
    let x;
    beforeAll(() => {
      x = normalArray(n, 41);
      // the extremes sit in later chunks: calibration must see every chunk
      x[CHUNK * 2 + 3] = -7;
      x[n - 1] = 9;
    });

    for (const bitwidth of [8, 3, 16]) {
      for (const rounding of ['half-up', 'half-even']) {
        it(`codes match the reference: ${bitwidth} bits, ${rounding}`, () => {
          const { codes, encoding } = wq.quantize(x, { bitwidth, rounding });
          expect(codes.length).toBe(n);
          expectEncodingClose(encoding, refEncoding(-7, 9, { bitwidth }), 1e-12);
          const cmp = compareWithReference(x, codes, encoding, rounding);
          expect(cmp.firstMismatch).toBeNull();
          expect(cmp.ambiguous).toBeLessThan(ambiguityBudget(n, bitwidth));
          expect(codes[n - 1]).toBe(steps(bitwidth));
          expect(codes[CHUNK * 2 + 3]).toBe(0);
          const x2 = wq.dequantize(codes, encoding);
          for (const i of [0, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK, n - 1]) {
            expectClose(x2[i], refDequantize(codes[i], encoding), 1e-6, `x̂[${i}]`);
          }
          for (let i = 0; i < n; i += 997) {
            expectClose(x2[i], refDequantize(codes[i], encoding), 1e-6, `x̂[${i}]`);
          }
        });
      }
    }

    it('quantize with the encoding given gives the same codes', () => {
      const calibrated = wq.quantize(x);
      expectSameArray(wq.quantize(x, { encoding: calibrated.encoding }).codes, calibrated.codes, 'codes');
    });

    it('analyze agrees with dequantize(quantize(x))', () => {
      const { codes, encoding } = wq.quantize(x);
      const expected = reportFrom(x, wq.dequantize(codes, encoding), encoding);
      expectReport(wq.analyze(x), expected, n);
    });
  });

  describe('zero-copy tensor', () => {
    it('quantize(tensor) and analyze(tensor) equal the Float32Array path', () => {
      for (const n of [1, 17, 1000, CHUNK, CHUNK * 2 + 5]) {
        const x = normalArray(n, 50 + n, { mean: 0.3 });
        const tensor = wq.allocTensor(n);
        try {
          expect(tensor.length).toBe(n);
          expect(tensor.freed).toBe(false);
          expect(tensor.data).toBeInstanceOf(Float32Array);
          expect(tensor.data.length).toBe(n);
          tensor.data.set(x);
          for (const options of [{}, { bitwidth: 12, rounding: 'half-even' }, { encoding: { bitwidth: 8, scale: 0.01, offset: -77 } }]) {
            const viaTensor = wq.quantize(tensor, options);
            const viaArray = wq.quantize(x, options);
            expect(viaTensor.encoding).toEqual(viaArray.encoding);
            expectSameArray(viaTensor.codes, viaArray.codes, 'codes');
            expect(wq.analyze(tensor, options)).toEqual(wq.analyze(x, options));
          }
          // the tensor's contents are left as they were
          expectSameArray(tensor.data, x, 'tensor data');
        } finally {
          tensor.free();
        }
      }
    });

    it('non-finite values in a tensor: saturate and error', () => {
      const tensor = wq.allocTensor(CHUNK + 9);
      try {
        tensor.data.set(normalArray(CHUNK + 9, 60));
        tensor.data[CHUNK + 4] = Number.NaN;
        const x = tensor.data.slice();
        expectWasmquantError(() => wq.quantize(tensor), RangeError, new RegExp(`\\b${CHUNK + 4}\\b`));
        const a = wq.quantize(tensor, { nonFinite: 'saturate' });
        expectSameArray(a.codes, wq.quantize(x, { nonFinite: 'saturate' }).codes, 'codes');
        expect(wq.analyze(tensor, { nonFinite: 'saturate' })).toEqual(wq.analyze(x, { nonFinite: 'saturate' }));
      } finally {
        tensor.free();
      }
    });

    it('tensor.data follows wasm memory growth', () => {
      const tensor = wq.allocTensor(1000);
      const x = normalArray(1000, 61);
      tensor.data.set(x);
      const oldView = tensor.data;
      const big = wq.allocTensor(24 * 1024 * 1024); // 96 MiB: memory must grow
      try {
        big.data[big.length - 1] = 1;
        expect(tensor.data).toEqual(x);
        expect(wq.quantize(tensor).codes).toEqual(wq.quantize(x).codes);
        expect(oldView.length === 0 || oldView.buffer !== tensor.data.buffer).toBe(true);
      } finally {
        big.free();
        tensor.free();
      }
    });

    it('after free(): data throws, quantize/analyze throw, free is idempotent', () => {
      const tensor = wq.allocTensor(10);
      tensor.data.fill(1);
      tensor.free();
      expect(tensor.freed).toBe(true);
      expectWasmquantError(() => tensor.data, Error, /freed/);
      expectWasmquantError(() => wq.quantize(tensor), Error, /freed/);
      expectWasmquantError(() => wq.analyze(tensor), Error, /freed/);
      expect(() => tensor.free()).not.toThrow();
    });

    it('Symbol.dispose frees the tensor', () => {
      const tensor = wq.allocTensor(10);
      const dispose = Symbol.dispose ?? Symbol.for('Symbol.dispose');
      tensor[dispose]();
      expect(tensor.freed).toBe(true);
    });

    it('rejects bad lengths', () => {
      for (const n of [0, -1, 1.5, Number.NaN, '10']) {
        expectWasmquantError(() => wq.allocTensor(n), RangeError, /length/);
      }
    });

    describe('a tensor from another quantizer is rejected', () => {
      let other;
      let sameBackend;
      beforeAll(async () => {
        other = await quantizerFor(backend === 'simd128' ? 'scalar' : 'simd128');
        sameBackend = await createQuantizer({ backend });
      });

      it('from the other backend and from another instance of the same one', () => {
        for (const owner of [other, sameBackend]) {
          const tensor = owner.allocTensor(100);
          try {
            tensor.data.set(normalArray(100, 70));
            expectWasmquantError(() => wq.quantize(tensor), Error, /another quantizer/);
            expectWasmquantError(() => wq.analyze(tensor), Error, /another quantizer/);
            // its owner takes it
            expect(owner.quantize(tensor).codes.length).toBe(100);
          } finally {
            tensor.free();
          }
        }
      });
    });
  });

  describe('options.out and typed wasm tensors', () => {
    const n = CHUNK * 2 + 37; // several chunks, and a tail
    const x = normalArray(n, 81);

    for (const bitwidth of [8, 12]) {
      it(`quantize into a caller's array and into a wasm tensor equals quantize(x): ${bitwidth} bits`, () => {
        const Codes = codeType(bitwidth);
        const expected = wq.quantize(x, { bitwidth });
        const out = new Codes(n).fill(7);
        const intoArray = wq.quantize(x, { bitwidth, out });
        expect(intoArray.codes).toBe(out);
        expectSameArray(out, expected.codes, 'out array');
        expectEncodingClose(intoArray.encoding, expected.encoding, 0);

        const xt = wq.allocTensor(n);
        const qt = wq.allocTensor(n, bitwidth <= 8 ? 'uint8' : 'uint16');
        const yt = wq.allocTensor(n);
        try {
          xt.data.set(x);
          const inMemory = wq.quantize(xt, { bitwidth, out: qt });
          expect(inMemory.codes).toBe(qt);
          expect(qt.data).toBeInstanceOf(Codes);
          expectSameArray(qt.data, expected.codes, 'out tensor');

          // dequantize from a codes tensor, into a tensor and into an array
          const x2 = wq.dequantize(expected.codes, expected.encoding);
          expect(wq.dequantize(qt, expected.encoding, { out: yt })).toBe(yt);
          expectSameArray(new Uint32Array(yt.data.slice().buffer), new Uint32Array(x2.buffer), 'dequantized tensor');
          const into = new Float32Array(n);
          expect(wq.dequantize(qt, expected.encoding, { out: into })).toBe(into);
          expectSameArray(new Uint32Array(into.buffer), new Uint32Array(x2.buffer), 'dequantized array');
        } finally {
          for (const t of [xt, qt, yt]) t.free();
        }
      });
    }

    it('rejects an out of the wrong type, dtype or length, and out where nothing is written', () => {
      const small = x.subarray(0, 100);
      expectWasmquantError(() => wq.quantize(small, { out: new Uint16Array(100) }), TypeError, /options\.out/, /Uint8Array/);
      expectWasmquantError(() => wq.quantize(small, { out: new Uint8Array(99) }), RangeError, /options\.out/, /100/);
      const f = wq.allocTensor(100);
      try {
        expectWasmquantError(() => wq.quantize(small, { out: f }), TypeError, /uint8/, /float32/);
        expectWasmquantError(
          () => wq.dequantize(new Uint8Array(100), { bitwidth: 8, scale: 1, offset: 0 }, { out: new Uint8Array(100) }),
          TypeError,
          /Float32Array/,
        );
        expectWasmquantError(() => wq.analyze(small, { out: new Uint8Array(100) }), TypeError, /analyze/);
        expectWasmquantError(() => wq.computeEncoding(0, 1, { out: new Uint8Array(1) }), TypeError, /computeEncoding/);
        expectWasmquantError(() => wq.allocTensor(10, 'float64'), RangeError, /dtype/, /uint16/);
        // a codes tensor must match the bitwidth's dtype
        const q16 = wq.allocTensor(100, 'uint16');
        try {
          expectWasmquantError(() => wq.dequantize(q16, { bitwidth: 8, scale: 1, offset: 0 }), TypeError, /uint8/);
        } finally {
          q16.free();
        }
      } finally {
        f.free();
      }
    });

    it("a failing call writes nothing to the caller's out", () => {
      const bad = Float32Array.from(x.subarray(0, CHUNK + 10));
      bad[CHUNK + 5] = NaN;
      const out = new Uint8Array(bad.length).fill(42);
      expectWasmquantError(() => wq.quantize(bad, { out }), RangeError, new RegExp(`${CHUNK + 5}`));
      expect(out.every((v) => v === 42)).toBe(true);
    });
  });
});
