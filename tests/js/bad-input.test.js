// docs/spec.md §6 (bad input), row by row, plus fast-check properties: whatever
// the options or the data, the API either works as SPEC says or throws a
// TypeError/RangeError whose message starts with 'wasmquant:'; never an
// Emscripten abort or a WebAssembly trap.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  allowedCodes,
  BACKENDS,
  CHUNK,
  checkWasmquantError,
  expectClose,
  expectEncodingClose,
  expectSameArray,
  expectWasmquantError,
  normalArray,
  quantizerFor,
  refEncodingFitsFloat32,
  refEncodingOf,
  steps,
} from './helpers.js';

const FC_SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : 20240601;
const codeType = (bitwidth) => (bitwidth <= 8 ? Uint8Array : Uint16Array);
const GOOD_ENCODING = { bitwidth: 8, scale: 0.02, offset: -100 };

// A float32 from its bit pattern (NaN payloads and signs included).
function floatFromBits(bits) {
  const u = new Uint32Array([bits >>> 0]);
  return new Float32Array(u.buffer)[0];
}

describe.each(BACKENDS)('SPEC §6 bad input, backend %s', (backend) => {
  let wq;
  beforeAll(async () => {
    wq = await quantizerFor(backend);
  });

  describe("NaN / ±Inf with the default nonFinite: 'error'", () => {
    const cases = [
      ['NaN', Number.NaN, /NaN/],
      ['+Inf', Infinity, /(^|[^-])Infinity/],
      ['-Inf', -Infinity, /-Infinity/],
      ['a negative NaN', floatFromBits(0xffc00000), /NaN/],
      ['a signalling NaN', floatFromBits(0x7f800001), /NaN/],
    ];
    for (const [name, value, valuePattern] of cases) {
      for (const index of [0, 5, 16, CHUNK - 1, CHUNK * 2 + 5]) {
        it(`${name} at index ${index}`, () => {
          const x = normalArray(Math.max(index + 20, 40), 3);
          x[index] = value;
          // a second non-finite value later: the error names the first
          x[index + 7] = Number.NaN;
          const indexPattern = new RegExp(`\\b${index}\\b`);
          const calls = {
            quantize: () => wq.quantize(x),
            'quantize, 16 bits': () => wq.quantize(x, { bitwidth: 16 }),
            analyze: () => wq.analyze(x),
            'quantize with a given encoding': () => wq.quantize(x, { encoding: GOOD_ENCODING }),
            'analyze with a given encoding': () => wq.analyze(x, { encoding: GOOD_ENCODING }),
          };
          for (const [what, call] of Object.entries(calls)) {
            const e = expectWasmquantError(call, RangeError, indexPattern, valuePattern);
            expect(e.message, what).not.toMatch(new RegExp(`\\b${index + 7}\\b`));
          }
        });
      }
    }

    it("nonFinite: 'error' given explicitly", () => {
      const x = Float32Array.of(1, Number.NaN);
      expectWasmquantError(() => wq.quantize(x, { nonFinite: 'error' }), RangeError, /\b1\b/);
    });
  });

  describe("NaN / ±Inf with nonFinite: 'saturate'", () => {
    for (const bitwidth of [8, 3, 16]) {
      it(`NaN → zero point, +Inf → steps, -Inf → 0 (${bitwidth} bits)`, () => {
        const n = CHUNK * 2 + 40;
        const x = normalArray(n, 8, { mean: 0.5 });
        const nan = [1, 17, CHUNK + 3, n - 1];
        const posInf = [2, CHUNK * 2 + 1];
        const negInf = [0, CHUNK - 1];
        nan.forEach((i) => {
          x[i] = Number.NaN;
        });
        posInf.forEach((i) => {
          x[i] = Infinity;
        });
        negInf.forEach((i) => {
          x[i] = -Infinity;
        });
        x[40] = floatFromBits(0xffc00001); // a negative NaN with a payload
        nan.push(40);
        const finite = x.filter(Number.isFinite);
        const options = { bitwidth, nonFinite: 'saturate' };
        const { codes, encoding } = wq.quantize(x, options);
        // calibrated on the finite elements only
        expectEncodingClose(encoding, refEncodingOf(finite, { bitwidth }), 1e-12);
        const z = 0 - encoding.offset;
        expect(z).toBeGreaterThan(0);
        nan.forEach((i) => expect(codes[i], `NaN at ${i}`).toBe(z));
        posInf.forEach((i) => expect(codes[i], `+Inf at ${i}`).toBe(steps(bitwidth)));
        negInf.forEach((i) => expect(codes[i], `-Inf at ${i}`).toBe(0));
        const x2 = wq.dequantize(codes, encoding);
        nan.forEach((i) => expect(x2[i] === 0).toBe(true));
        // the finite elements are quantized as usual
        for (let i = 0; i < n; i += 101) {
          if (Number.isFinite(x[i])) expect(allowedCodes(x[i], encoding)).toContain(codes[i]);
        }
        // the same codes with that encoding given
        expectSameArray(wq.quantize(x, { nonFinite: 'saturate', encoding }).codes, codes, 'codes');

        // analyze: the finite elements are measured, the others counted
        const report = wq.analyze(x, options);
        expect(report.nonFinite).toBe(nan.length + posInf.length + negInf.length);
        expect(report.count).toBe(finite.length);
        expect(report.encoding).toEqual(encoding);
        const finiteOnly = wq.analyze(finite, { encoding });
        for (const key of ['mse', 'rmse', 'maxAbsError', 'meanAbsError', 'sqnrDb']) {
          expectClose(report[key], finiteOnly[key], 1e-12, key);
        }
        expect(report.clipped).toBe(finiteOnly.clipped);
      });
    }

    it('a tensor with no finite element cannot be calibrated', () => {
      const x = Float32Array.of(Number.NaN, Infinity, -Infinity);
      expectWasmquantError(() => wq.quantize(x, { nonFinite: 'saturate' }), RangeError, /finite/);
      expectWasmquantError(() => wq.analyze(x, { nonFinite: 'saturate' }), RangeError, /finite/);
      // with a given encoding there is nothing to calibrate
      const { codes } = wq.quantize(x, { nonFinite: 'saturate', encoding: GOOD_ENCODING });
      expect(Array.from(codes)).toEqual([100, 255, 0]);
      const report = wq.analyze(x, { nonFinite: 'saturate', encoding: GOOD_ENCODING });
      expect(report.nonFinite).toBe(3);
      expect(report.count).toBe(0);
    });
  });

  describe('empty tensor', () => {
    it('quantize and analyze throw, saying the tensor is empty', () => {
      const empty = new Float32Array(0);
      for (const call of [
        () => wq.quantize(empty),
        () => wq.analyze(empty),
        () => wq.quantize(empty, { encoding: GOOD_ENCODING }),
        () => wq.analyze(empty, { encoding: GOOD_ENCODING }),
        () => wq.quantize(new Float32Array(10).subarray(5, 5)),
      ]) {
        expectWasmquantError(call, undefined, /empty/);
      }
    });
  });

  describe('options', () => {
    const x = Float32Array.of(-1, 0.5, 2);
    const calls = {
      quantize: (options) => wq.quantize(x, options),
      analyze: (options) => wq.analyze(x, options),
      computeEncoding: (options) => wq.computeEncoding(-1, 2, options),
    };

    for (const [name, call] of Object.entries(calls)) {
      it(`${name}: bitwidth outside 2..16 → the core's RangeError naming it and the allowed values`, () => {
        for (const bitwidth of [1, 17, 0, -8, 2 ** 31 - 1]) {
          expectWasmquantError(() => call({ bitwidth }), RangeError, /^wasmquant: bitwidth must be an integer from 2 to 16, got -?\d+$/);
        }
      });

      // Embind would truncate 8.5 to 8 and wrap 2^31 + 8 to a valid width:
      // these must never reach the core.
      it(`${name}: bitwidth not an int32 → RangeError; not a number → TypeError`, () => {
        for (const bitwidth of [8.5, Number.NaN, Infinity, 2 ** 31 + 8, 2 ** 32 + 8]) {
          expectWasmquantError(() => call({ bitwidth }), RangeError, /bitwidth must be an integer/);
        }
        for (const bitwidth of ['8', null, true, 8n, [8], {}]) {
          expectWasmquantError(() => call({ bitwidth }), TypeError, /bitwidth must be an integer/);
        }
      });

      it(`${name}: scheme, rounding, nonFinite, minRange, unknown keys`, () => {
        expectWasmquantError(() => call({ scheme: 'foo' }), RangeError, /scheme/, /'tf'/);
        expectWasmquantError(() => call({ scheme: 3 }), TypeError, /scheme/);
        expectWasmquantError(() => call({ rounding: 'up' }), RangeError, /rounding/, /half-up/, /half-even/);
        expectWasmquantError(() => call({ rounding: 'HALF-UP' }), RangeError, /rounding/);
        expectWasmquantError(() => call({ nonFinite: 'ignore' }), RangeError, /nonFinite/, /'error'/, /'saturate'/);
        for (const minRange of [0, -1, Number.NaN, Infinity, -0]) {
          expectWasmquantError(() => call({ minRange }), RangeError, /minRange/);
        }
        expectWasmquantError(() => call({ minRange: '0.01' }), TypeError, /minRange/);
        expectWasmquantError(() => call({ bogus: 1 }), TypeError, /unknown option 'bogus'/);
        expectWasmquantError(() => call({ bitWidth: 8 }), TypeError, /bitWidth/, /bitwidth/);
        for (const options of [null, 'fast', 8, [], () => {}]) {
          expectWasmquantError(() => call(options), TypeError, /options/);
        }
      });
    }

    it('ranges the core owns: percentile, strict without symmetric, channel counts', () => {
      const y = new Float32Array(256).map((_, i) => Math.sin(i));
      for (const percentile of [49.9, 100.5, Number.NaN]) {
        for (const call of [() => wq.quantize(y, { scheme: 'percentile', percentile }), () => wq.analyze(y, { scheme: 'percentile', percentile })]) {
          expectWasmquantError(call, RangeError, /percentile must be a number from 50 to 100/);
        }
      }
      expectWasmquantError(() => wq.quantize(y, { scheme: 'percentile', percentile: '99' }), TypeError, /percentile must be a number/);
      for (const call of [() => wq.quantize(y, { strict: true }), () => wq.computeEncoding(-1, 1, { strict: true })]) {
        expectWasmquantError(call, RangeError, /strict applies to symmetric encodings/);
      }
      const wide = new Float32Array(2 ** 16 + 1);
      for (const scheme of ['tf_enhanced', 'percentile']) {
        expectWasmquantError(
          () => wq.quantize(wide, { scheme, shape: [2 ** 16 + 1], axis: 0 }),
          RangeError,
          /at most 65536 channels with tf_enhanced and percentile, got 65537/,
        );
      }
      expect(wq.quantize(wide, { shape: [2 ** 16 + 1], axis: 0 }).encoding).toHaveLength(2 ** 16 + 1);
      const wider = new Float32Array(2 ** 20 + 1);
      expectWasmquantError(() => wq.analyze(wider, { shape: [2 ** 20 + 1], axis: 0 }), RangeError, /at most 1048576 channels/);
    });

    it('undefined option values mean the default', () => {
      const a = wq.quantize(x, { bitwidth: undefined, rounding: undefined, minRange: undefined });
      const b = wq.quantize(x);
      expect(a).toEqual(b);
    });
  });

  describe('dequantize', () => {
    it('codes outside [0, steps] → RangeError naming the index', () => {
      const enc4 = { bitwidth: 4, scale: 0.1, offset: -3 };
      expectWasmquantError(() => wq.dequantize(Uint8Array.of(0, 15, 16, 200), enc4), RangeError, /\b16\b/, /index 2\b/);
      const enc10 = { bitwidth: 10, scale: 0.1, offset: -3 };
      const codes = new Uint16Array(CHUNK * 2 + 10).fill(1023);
      codes[CHUNK + 7] = 1024;
      codes[CHUNK + 9] = 65535;
      expectWasmquantError(() => wq.dequantize(codes, enc10), RangeError, new RegExp(`index ${CHUNK + 7}\\b`), /1023/);
      // the largest code is fine at every bitwidth
      for (let bitwidth = 2; bitwidth <= 16; bitwidth += 1) {
        const Codes = codeType(bitwidth);
        const out = wq.dequantize(Codes.of(0, steps(bitwidth)), { bitwidth, scale: 1, offset: 0 });
        expect(Array.from(out)).toEqual([0, steps(bitwidth)]);
        if (bitwidth !== 8 && bitwidth !== 16) {
          expectWasmquantError(() => wq.dequantize(Codes.of(0, steps(bitwidth) + 1), { bitwidth, scale: 1, offset: 0 }), RangeError, /index 1\b/);
        }
      }
    });

    it('a code array of the wrong type → TypeError', () => {
      expectWasmquantError(() => wq.dequantize(new Uint16Array(4), GOOD_ENCODING), TypeError, /Uint8Array/, /Uint16Array/);
      const enc12 = { bitwidth: 12, scale: 0.1, offset: -3 };
      expectWasmquantError(() => wq.dequantize(new Uint8Array(4), enc12), TypeError, /Uint16Array/);
      for (const codes of [[1, 2], new Int8Array(2), new Float32Array(2), new Uint8ClampedArray(2), null, undefined, 'abc']) {
        expectWasmquantError(() => wq.dequantize(codes, GOOD_ENCODING), TypeError, /Uint8Array/);
      }
    });

    it('a missing encoding → TypeError', () => {
      expectWasmquantError(() => wq.dequantize(new Uint8Array(4)), TypeError, /encoding/);
      expectWasmquantError(() => wq.dequantize(new Uint8Array(4), null), TypeError, /encoding/);
    });
  });

  describe('given encodings', () => {
    const x = Float32Array.of(-1, 0.5, 2);
    const calls = {
      quantize: (encoding) => wq.quantize(x, { encoding }),
      analyze: (encoding) => wq.analyze(x, { encoding }),
      dequantize: (encoding) => wq.dequantize(new Uint8Array(3), encoding),
    };
    const bad = [
      ['scale 0', { scale: 0 }, RangeError, /scale/],
      ['scale -0.1', { scale: -0.1 }, RangeError, /scale/],
      ['scale NaN', { scale: Number.NaN }, RangeError, /scale/],
      ['scale Infinity', { scale: Infinity }, RangeError, /scale/],
      ['scale as a string', { scale: '0.02' }, TypeError, /scale/],
      ['offset 1', { offset: 1 }, RangeError, /offset/],
      ['offset -300 at 8 bits', { offset: -300 }, RangeError, /offset/],
      ['offset -256 at 8 bits', { offset: -256 }, RangeError, /offset/],
      ['offset 1.5', { offset: 1.5 }, RangeError, /offset/],
      ['offset -0.5', { offset: -0.5 }, RangeError, /offset/],
      ['offset NaN', { offset: Number.NaN }, RangeError, /offset/],
      ['offset 2^32 (would wrap to 0 as an int32)', { offset: 2 ** 32 }, RangeError, /offset/],
      ['offset -(2^32 + 5) (would wrap to -5)', { offset: -(2 ** 32) - 5 }, RangeError, /offset/],
      ['offset 2^31', { offset: 2 ** 31 }, RangeError, /offset/],
      ['bitwidth 1', { bitwidth: 1 }, RangeError, /bitwidth/],
      ['bitwidth 17', { bitwidth: 17 }, RangeError, /bitwidth/],
      ['bitwidth 8.5', { bitwidth: 8.5 }, RangeError, /bitwidth/],
      ['bitwidth "8"', { bitwidth: '8' }, TypeError, /bitwidth/],
      ['isSymmetric "False"', { isSymmetric: 'False' }, TypeError, /isSymmetric/],
    ];
    for (const [what, call] of Object.entries(calls)) {
      it.each(bad)(`${what}: %s`, (_, change, ErrorClass, pattern) => {
        expectWasmquantError(() => call({ ...GOOD_ENCODING, ...change }), ErrorClass, pattern, /encoding/);
      });

      it(`${what}: missing fields → TypeError naming the field`, () => {
        for (const field of ['bitwidth', 'scale', 'offset']) {
          const encoding = { ...GOOD_ENCODING };
          delete encoding[field];
          expectWasmquantError(() => call(encoding), TypeError, new RegExp(`encoding\\.${field}`));
        }
        for (const encoding of [null, 'tf', 3]) {
          expectWasmquantError(() => call(encoding), TypeError, /encoding/);
        }
        // an array is one encoding per channel: a per-tensor call rejects it
        expectWasmquantError(() => call([GOOD_ENCODING]), RangeError, /encodings/, /axis/);
      });
    }

    it('an offset that passes validation is the offset used (no int32 wrap-around)', () => {
      // offset 2^32 must not act as offset 0
      let result;
      try {
        result = wq.quantize(x, { encoding: { ...GOOD_ENCODING, offset: 2 ** 32 } });
      } catch (e) {
        checkWasmquantError(e);
        return;
      }
      expect(result.encoding.offset).toBe(2 ** 32);
    });

    it('an accepted encoding keeps 0.0 exact (SPEC §1): huge or tiny scales', () => {
      for (const scale of [1e-30, 1e30, 3e38, 1e39, 1e300]) {
        const encoding = { bitwidth: 8, scale, offset: -10 };
        let zero;
        try {
          zero = wq.dequantize(Uint8Array.of(10), encoding)[0];
        } catch (e) {
          checkWasmquantError(e);
          expect(e.message).toMatch(/scale/);
          continue;
        }
        expect(zero === 0, `scale ${scale}: x̂ of the zero point is ${zero}`).toBe(true);
        const { codes } = wq.quantize(Float32Array.of(0), { encoding });
        expect(codes[0], `scale ${scale}`).toBe(10);
      }
    });
  });

  describe('calibrated encodings stay usable', () => {
    // minRange may be any finite positive number. Whatever encoding comes out
    // must keep 0.0 exact and be accepted back by dequantize and as a given
    // encoding; if it cannot be, quantize must throw a RangeError instead.
    const cases = [
      [1e-30, Float32Array.of(0, 0, 0)],
      [1e-40, Float32Array.of(0, 0, 0)],
      [1e-300, Float32Array.of(0, 0, 0)],
      [1e-300, Float32Array.of(0, 1e-45, 0)],
      [1e30, Float32Array.of(0, 1, -1)],
      [1e300, Float32Array.of(0, 1, -1)],
    ];
    it.each(cases)('minRange %s on %s', (minRange, x) => {
      let result;
      try {
        result = wq.quantize(x, { minRange });
      } catch (e) {
        checkWasmquantError(e);
        expect(e.constructor).toBe(RangeError);
        return;
      }
      const { codes, encoding } = result;
      const x2 = wq.dequantize(codes, encoding);
      expect(x2[0] === 0, `x̂ of 0.0 is ${x2[0]}`).toBe(true);
      expectSameArray(wq.quantize(x, { encoding }).codes, codes, 'codes with the encoding given');
      const report = wq.analyze(x, { minRange });
      expect(Number.isNaN(report.mse), 'report.mse is NaN').toBe(false);
    });
  });

  describe('input that is not a Float32Array → TypeError', () => {
    const inputs = [
      ['Array', [1, 2, 3]],
      ['Float64Array', new Float64Array(3)],
      ['Int8Array', new Int8Array(3)],
      ['Uint8Array', new Uint8Array(3)],
      ['DataView', new DataView(new ArrayBuffer(12))],
      ['ArrayBuffer', new ArrayBuffer(12)],
      ['null', null],
      ['undefined', undefined],
      ['a number', 3],
      ['a string', 'abc'],
      ['an object with length', { length: 3, 0: 1, 1: 2, 2: 3 }],
    ];
    it.each(inputs)('%s', (_, input) => {
      expectWasmquantError(() => wq.quantize(input), TypeError, /Float32Array/);
      expectWasmquantError(() => wq.analyze(input), TypeError, /Float32Array/);
      expectWasmquantError(() => wq.quantize(input, { encoding: GOOD_ENCODING }), TypeError, /Float32Array/);
    });
  });

  describe('computeEncoding arguments', () => {
    it('min > max, non-finite or non-number bounds', () => {
      expectWasmquantError(() => wq.computeEncoding(2, 1), RangeError, /min/, /max/);
      expectWasmquantError(() => wq.computeEncoding(Number.NaN, 1), RangeError, /min/);
      expectWasmquantError(() => wq.computeEncoding(0, Infinity), RangeError, /max/);
      expectWasmquantError(() => wq.computeEncoding('0', 1), TypeError, /min/);
      expectWasmquantError(() => wq.computeEncoding(0), TypeError, /max/);
    });
  });

  describe('properties (fast-check)', () => {
    const KEYS = ['bitwidth', 'scheme', 'rounding', 'minRange', 'nonFinite', 'encoding'];
    const value = fc.oneof(
      fc.anything(),
      fc.integer({ min: -20, max: 40 }),
      fc.double(),
      fc.constantFrom('tf', 'half-up', 'half-even', 'error', 'saturate', 'symmetric', ''),
      fc.record(
        { bitwidth: fc.anything(), scale: fc.oneof(fc.double(), fc.anything()), offset: fc.oneof(fc.integer(), fc.double(), fc.anything()) },
        { requiredKeys: [] },
      ),
      fc.record({
        bitwidth: fc.integer({ min: 0, max: 20 }),
        scale: fc.double({ min: 1e-8, max: 1e3, noNaN: true }),
        offset: fc.integer({ min: -70000, max: 10 }),
      }),
    );
    // mostly plausible options, each value sometimes wrong
    const plausible = fc.record(
      {
        bitwidth: fc.oneof(fc.integer({ min: 0, max: 20 }), value),
        scheme: fc.oneof(fc.constant('tf'), value),
        rounding: fc.oneof(fc.constantFrom('half-up', 'half-even'), value),
        minRange: fc.oneof(fc.double({ min: 1e-6, max: 10, noNaN: true }), value),
        nonFinite: fc.oneof(fc.constantFrom('error', 'saturate'), value),
      },
      { requiredKeys: [] },
    );
    const options = fc.oneof(fc.dictionary(fc.oneof(fc.constantFrom(...KEYS), fc.string()), value, { maxKeys: 6 }), plausible, fc.anything());

    it('random options never raise anything but a wasmquant TypeError/RangeError', () => {
      const x = Float32Array.of(-1.5, 0, 0.25, 3, 1e-3);
      const codes = Uint8Array.of(0, 1, 2);
      let succeeded = 0;
      let failed = 0;
      fc.assert(
        fc.property(options, (opts) => {
          const calls = [
            () => wq.quantize(x, opts),
            () => wq.analyze(x, opts),
            () => wq.computeEncoding(-1, 3, opts),
            () => wq.dequantize(codes, GOOD_ENCODING, opts),
          ];
          for (const call of calls) {
            let result;
            try {
              result = call();
            } catch (e) {
              checkWasmquantError(e);
              if (!(e instanceof TypeError || e instanceof RangeError)) throw e;
              failed += 1;
              continue;
            }
            succeeded += 1;
            if (result?.codes) {
              const { codes: q, encoding } = result;
              expect(q.constructor).toBe(codeType(encoding.bitwidth));
              for (const c of q) expect(c).toBeLessThanOrEqual(steps(encoding.bitwidth));
            }
          }
        }),
        { seed: FC_SEED, numRuns: 1500 },
      );
      expect(succeeded).toBeGreaterThan(500);
      expect(failed).toBeGreaterThan(500);
    });

    const element = fc.oneof(
      { weight: 6, arbitrary: fc.float() },
      { weight: 2, arbitrary: fc.integer({ min: 0, max: 0xffffffff }).map(floatFromBits) },
      {
        weight: 2,
        arbitrary: fc.constantFrom(0, -0, Number.NaN, Infinity, -Infinity, 3.4e38, -3.4e38, 1e-45, -1e-45, 1.1754942e-38),
      },
      { weight: 3, arbitrary: fc.float({ min: -10, max: 10, noNaN: true }) },
    );
    const data = fc.array(element, { maxLength: 80 }).map((a) => Float32Array.from(a));
    const quantizeOptions = fc.record({
      bitwidth: fc.integer({ min: 2, max: 16 }),
      rounding: fc.constantFrom('half-up', 'half-even'),
      nonFinite: fc.constantFrom('error', 'saturate'),
    });

    it('random Float32Arrays quantize as SPEC says or throw a RangeError', () => {
      let quantized = 0;
      let threw = 0;
      fc.assert(
        fc.property(data, quantizeOptions, (x, opts) => {
          const finiteCount = x.filter(Number.isFinite).length;
          const mustThrow =
            x.length === 0 ||
            (opts.nonFinite === 'error' && finiteCount < x.length) ||
            finiteCount === 0 ||
            !refEncodingFitsFloat32(refEncodingOf(x, { bitwidth: opts.bitwidth }));
          let result;
          try {
            result = wq.quantize(x, opts);
          } catch (e) {
            checkWasmquantError(e);
            expect(e.constructor, e.message).toBe(RangeError);
            expect(mustThrow, `unexpected error: ${e.message}`).toBe(true);
            threw += 1;
            return;
          }
          quantized += 1;
          expect(mustThrow, 'should have thrown').toBe(false);
          const { codes, encoding } = result;
          const n = steps(opts.bitwidth);
          expect(codes.constructor).toBe(codeType(opts.bitwidth));
          expect(codes.length).toBe(x.length);
          expectEncodingClose(encoding, refEncodingOf(x, { bitwidth: opts.bitwidth }), 1e-12);
          const z = 0 - encoding.offset;
          const x2 = wq.dequantize(codes, encoding);
          for (let i = 0; i < x.length; i += 1) {
            const v = x[i];
            expect(codes[i]).toBeGreaterThanOrEqual(0);
            expect(codes[i]).toBeLessThanOrEqual(n);
            if (Number.isNaN(v)) {
              expect(codes[i]).toBe(z);
            } else if (v === Infinity) {
              expect(codes[i]).toBe(n);
            } else if (v === -Infinity) {
              expect(codes[i]).toBe(0);
            } else {
              expect(allowedCodes(v, encoding, opts.rounding), `x[${i}] = ${v}`).toContain(codes[i]);
            }
            if (v === 0 || Number.isNaN(v)) {
              expect(codes[i]).toBe(z);
              expect(x2[i] === 0, `x̂[${i}] = ${x2[i]} for ${v}`).toBe(true);
            }
          }
          // analyze succeeds on the same input and counts what it measured
          const report = wq.analyze(x, opts);
          expect(report.count + report.nonFinite).toBe(x.length);
          expect(report.count).toBe(finiteCount);
        }),
        { seed: FC_SEED, numRuns: 2000 },
      );
      // both outcomes were exercised, mostly the successful one
      expect(quantized).toBeGreaterThan(threw);
      expect(threw).toBeGreaterThan(50);
    });
  });
});
