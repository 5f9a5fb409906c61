// The SIMD128 and scalar modules must agree bit for bit: codes, dequantized
// floats (as bit patterns) and every number of the report.
import { beforeAll, describe, expect, it } from 'vitest';
import { createQuantizer, simd128Supported } from '../../web/index.js';
import {
  CHUNK,
  bitsOf,
  compareWithReference,
  expectSameArray,
  expectWasmquantError,
  mulberry32,
  normalArray,
  quantizerFor,
  steps,
} from './helpers.js';

let simd;
let scalar;
beforeAll(async () => {
  [simd, scalar] = await Promise.all([quantizerFor('simd128'), quantizerFor('scalar')]);
  expect(simd.backend).toBe('simd128');
  expect(scalar.backend).toBe('scalar');
});

// Runs one case through both backends and compares everything.
function expectAgreement(x, options = {}, what = '') {
  const a = simd.quantize(x, options);
  const b = scalar.quantize(x, options);
  expect(a.encoding, `${what}: encoding`).toEqual(b.encoding);
  expectSameArray(a.codes, b.codes, `${what}: codes`);
  const layout = options.shape === undefined ? {} : { shape: options.shape, axis: options.axis };
  const da = simd.dequantize(a.codes, a.encoding, layout);
  const db = scalar.dequantize(b.codes, b.encoding, layout);
  expectSameArray(da, db, `${what}: dequantized bits`);
  const ra = simd.analyze(x, options);
  const rb = scalar.analyze(x, options);
  for (const key of Object.keys(rb)) {
    if (key === 'encoding' || key === 'channels') continue;
    expect(Object.is(ra[key], rb[key]), `${what}: report.${key} ${ra[key]} vs ${rb[key]}`).toBe(true);
  }
  expect(ra.encoding).toEqual(rb.encoding);
  expect(ra.channels, `${what}: per-channel reports`).toEqual(rb.channels);
  return a;
}

// Elements that sit exactly on half steps of a power-of-two grid, in float32
// and in double: (k + 1/2 - z) * 2^-e for every code k.
function tieData(bitwidth, exponent, zeroPoint) {
  const n = steps(bitwidth);
  const out = [];
  for (let k = -2; k <= n + 1; k += 1) out.push((k + 0.5 - zeroPoint) * 2 ** -exponent);
  return Float32Array.from(out);
}

describe('simd128 and scalar agree bit for bit', () => {
  it('2M normal values, 8 bits, both roundings', () => {
    const x = normalArray(2_000_000, 1, { mean: 0.2, sigma: 1.5 });
    for (const rounding of ['half-up', 'half-even']) {
      const { codes, encoding } = expectAgreement(x, { rounding }, rounding);
      // and both match the SPEC model
      const sample = x.subarray(0, 200_000);
      const cmp = compareWithReference(sample, codes.subarray(0, 200_000), encoding, rounding);
      expect(cmp.firstMismatch).toBeNull();
    }
  });

  it('1M values at 16 bits and 1M at 4 bits, with a given encoding that clips', () => {
    const x = normalArray(1_000_000, 2, { sigma: 3 });
    expectAgreement(x, { bitwidth: 16 }, '16 bits');
    expectAgreement(x, { bitwidth: 16, rounding: 'half-even' }, '16 bits, half-even');
    expectAgreement(x, { encoding: { bitwidth: 4, scale: 0.3, offset: -6 } }, '4 bits, clipping');
  });

  it('every half step at every bitwidth and three zero points', () => {
    let total = 0;
    for (let bitwidth = 2; bitwidth <= 16; bitwidth += 1) {
      const n = steps(bitwidth);
      for (const zeroPoint of [0, (n + 1) / 2, n]) {
        const exponent = 4;
        const base = tieData(bitwidth, exponent, zeroPoint);
        // repeat the ties so SIMD bodies, not just tails, see them
        const reps = Math.max(1, Math.ceil(2000 / base.length));
        const x = new Float32Array(base.length * reps);
        for (let r = 0; r < reps; r += 1) x.set(base, r * base.length);
        total += x.length;
        const encoding = { bitwidth, scale: 2 ** -exponent, offset: -zeroPoint };
        for (const rounding of ['half-up', 'half-even']) {
          const { codes } = expectAgreement(x, { encoding, rounding }, `${bitwidth} bits z=${zeroPoint} ${rounding}`);
          // ties resolved as SPEC §2 says: x / scale = k - z + 1/2 rounds to
          // k - z + 1 half-up, to the even one of k - z, k - z + 1 half-even,
          // and z is added after rounding (odd z: the odd code)
          const expected = new codes.constructor(base.length);
          for (let i = 0; i < base.length; i += 1) {
            const k = i - 2;
            const up = Math.min(Math.max(k + 1, 0), n);
            const even = Math.min(Math.max((k - zeroPoint) % 2 === 0 ? k : k + 1, 0), n);
            expected[i] = rounding === 'half-up' ? up : even;
          }
          expectSameArray(codes.subarray(0, base.length), expected, `${bitwidth} bits z=${zeroPoint} ${rounding}`);
        }
      }
    }
    expect(total).toBeGreaterThan(100_000);
  });

  it('neighbours of ties, ±0, subnormals, huge values, non-finite (saturate)', () => {
    const random = mulberry32(3);
    const encoding = { bitwidth: 8, scale: 2 ** -6, offset: -100 };
    const n = 600_000;
    const x = new Float32Array(n);
    const bits = new Uint32Array(x.buffer);
    for (let i = 0; i < n; i += 1) {
      const r = random();
      if (r < 0.4) {
        // a tie, or one ulp either side of it
        const k = Math.floor(random() * 300) - 120;
        x[i] = (k + 0.5 - 100) * 2 ** -6;
        const step = Math.floor(random() * 3) - 1;
        if (x[i] !== 0) bits[i] += step;
      } else if (r < 0.5) {
        // any bit pattern: NaN payloads, Inf, subnormals; but not the top
        // binade, since a range that reaches past float32 once shifted onto
        // the grid is rejected
        bits[i] = Math.floor(random() * 2 ** 32);
        if (((bits[i] >>> 23) & 0xff) === 0xfe) bits[i] -= 1 << 23;
      } else if (r < 0.6) {
        x[i] = [0, -0, 1e-45, -1e-45, 1e38, -1e38, 1e30, -1e30][Math.floor(random() * 8)];
      } else {
        x[i] = (random() - 0.5) * 8;
      }
    }
    for (const rounding of ['half-up', 'half-even']) {
      expectAgreement(x, { encoding, rounding, nonFinite: 'saturate' }, `given, ${rounding}`);
      expectAgreement(x, { nonFinite: 'saturate', rounding }, `calibrated, ${rounding}`);
      expectAgreement(x, { nonFinite: 'saturate', rounding, bitwidth: 13 }, `13 bits, ${rounding}`);
    }
  });

  it('every length 1..67 and lengths around chunk boundaries', () => {
    const base = normalArray(3 * CHUNK + 80, 4);
    const lengths = [];
    for (let r = 1; r <= 67; r += 1) lengths.push(r);
    for (let r = 0; r <= 67; r += 1) lengths.push(CHUNK + r);
    for (const r of [-17, -16, -8, -1]) lengths.push(CHUNK + r);
    for (const r of [-1, 0, 1, 7, 8, 9, 15, 16, 17, 67]) lengths.push(2 * CHUNK + r);
    for (const length of lengths) {
      // an unaligned view too: the data is copied in, alignment must not matter
      const start = length % 3;
      const x = base.subarray(start, start + length);
      // make the last element the maximum, so the tail decides the encoding
      const saved = x[length - 1];
      x[length - 1] = 9;
      const options = length % 2 ? { bitwidth: 8 } : { bitwidth: 12, rounding: 'half-even' };
      const { codes } = expectAgreement(x, options, `length ${length}`);
      expect(codes[length - 1]).toBe(steps(options.bitwidth));
      x[length - 1] = saved;
    }
  });

  it('every scheme, bitwidth and layout: encodings, codes and reports', () => {
    const x = normalArray(3 * 4096 + 17, 77, { mean: 0.3, sigma: 2 });
    const schemes = [
      {},
      { scheme: 'symmetric' },
      { scheme: 'symmetric', strict: true },
      { scheme: 'tf_enhanced' },
      { scheme: 'percentile', percentile: 99.9 },
    ];
    const layouts = [{}, { shape: [5, 2461], axis: 0 }, { shape: [12305, 1], axis: 1 }, { shape: [23, 535], axis: 1 }];
    for (const scheme of schemes) {
      for (const bitwidth of [2, 4, 8, 12, 16]) {
        for (const layout of layouts) {
          const options = { ...scheme, bitwidth, ...layout };
          const what = JSON.stringify(options);
          expectAgreement(x, options, what);
        }
      }
    }
  });

  it('length 0: both backends reject the empty tensor the same way', () => {
    const empty = new Float32Array(0);
    const a = expectWasmquantError(() => simd.quantize(empty), undefined, /empty/);
    const b = expectWasmquantError(() => scalar.quantize(empty), undefined, /empty/);
    expect(a.constructor).toBe(b.constructor);
    expect(a.message).toBe(b.message);
    const enc = { bitwidth: 8, scale: 0.1, offset: 0 };
    const c = expectWasmquantError(() => simd.dequantize(new Uint8Array(0), enc), RangeError, /empty/);
    const d = expectWasmquantError(() => scalar.dequantize(new Uint8Array(0), enc), RangeError, /empty/);
    expect(c.message).toBe(d.message);
  });

  it('dequantize of every code at every bitwidth', () => {
    for (let bitwidth = 2; bitwidth <= 16; bitwidth += 1) {
      const n = steps(bitwidth);
      const Codes = bitwidth <= 8 ? Uint8Array : Uint16Array;
      const codes = Codes.from({ length: n + 1 + 37 }, (_, i) => i % (n + 1));
      for (const encoding of [
        { bitwidth, scale: 0.0123, offset: -Math.floor(n / 3) },
        { bitwidth, scale: 1e-20, offset: -n },
        { bitwidth, scale: 3.3e20, offset: 0 },
      ]) {
        const a = simd.dequantize(codes, encoding);
        const b = scalar.dequantize(codes, encoding);
        expectSameArray(a, b, `${bitwidth} bits, scale ${encoding.scale}`);
        // x̂ = (q + offset) * scale, in float32
        const z = 0 - encoding.offset;
        for (const i of [0, z, n, codes.length - 1]) {
          const expected = Math.fround((codes[i] + encoding.offset) * Math.fround(encoding.scale));
          expect(bitsOf(a.subarray(i, i + 1))[0]).toBe(bitsOf(Float32Array.of(expected))[0]);
        }
        expect(a[z] === 0).toBe(true);
      }
    }
  });
});

describe('backend selection', () => {
  it("createQuantizer() picks 'simd128' in Node 20", async () => {
    expect(simd128Supported()).toBe(true);
    const wq = await createQuantizer();
    expect(wq.backend).toBe('simd128');
    expect((await createQuantizer({})).backend).toBe('simd128');
    expect((await createQuantizer({ backend: undefined })).backend).toBe('simd128');
    // the default module computes what the simd128 module computes
    const x = normalArray(1000, 9);
    expect(wq.quantize(x)).toEqual(simd.quantize(x));
  });

  it('wasmUrl: an absolute URL of the .wasm loads it; in Node a relative one is a clear error', async () => {
    const url = new URL('../../dist/wasmquant-scalar.wasm', import.meta.url);
    const wq = await createQuantizer({ backend: 'scalar', wasmUrl: url.href });
    const x = normalArray(1000, 4);
    expect(wq.quantize(x)).toEqual(scalar.quantize(x));
    await expect(createQuantizer({ backend: 'scalar', wasmUrl: 'dist/wasmquant-scalar.wasm' })).rejects.toThrow(
      /wasmUrl dist\/wasmquant-scalar\.wasm is not a URL \(in Node, give an absolute/,
    );
  });

  it('backend is read-only', async () => {
    const wq = await createQuantizer({ backend: 'scalar' });
    expect(() => {
      wq.backend = 'simd128';
    }).toThrow(TypeError);
    expect(wq.backend).toBe('scalar');
  });

  it('an unknown backend → RangeError naming the option and the choices', async () => {
    for (const backend of ['avx', 'SIMD128', 'wasm', '']) {
      const error = await createQuantizer({ backend }).catch((e) => e);
      expectWasmquantError(
        () => {
          throw error;
        },
        RangeError,
        /backend/,
        /'simd128'/,
        /'scalar'/,
      );
    }
  });

  it('a backend of the wrong type or bad options → a wasmquant error', async () => {
    for (const backend of [5, null, true, {}, ['scalar']]) {
      const error = await createQuantizer({ backend }).catch((e) => e);
      expect(error).toBeInstanceOf(Error);
      expectWasmquantError(
        () => {
          throw error;
        },
        undefined,
        /backend/,
      );
      expect(error instanceof TypeError || error instanceof RangeError).toBe(true);
    }
    for (const options of [null, 'scalar', 5]) {
      const error = await createQuantizer(options).catch((e) => e);
      expectWasmquantError(
        () => {
          throw error;
        },
        TypeError,
        /options/,
      );
    }
  });

  it('a misspelt option key is rejected, not ignored', async () => {
    // { bakend: 'scalar' } silently giving a simd128 quantizer would hide the typo
    const result = await createQuantizer({ bakend: 'scalar' }).then(
      (wq) => wq.backend,
      (e) => e,
    );
    expect(result).toBeInstanceOf(TypeError);
    expect(result.message).toMatch(/^wasmquant:.*bakend/);
  });
});
