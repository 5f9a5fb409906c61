// docs/spec.md §2.1: every reference vector, through quantize, dequantize and
// computeEncoding, on both backends.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, expectClose, expectEncodingClose, normalArray, quantizerFor, refDequantize, refEncoding, steps } from './helpers.js';

// The table of §2.1 (tests/vectors/tf-encoding.json, which GoogleTest reads
// too). `codes: null` where the SPEC leaves an element open; dequantized
// values are listed where the table gives them.
const TABLE = JSON.parse(readFileSync(new URL('../vectors/tf-encoding.json', import.meta.url), 'utf8'));
const VECTORS = TABLE.rows.filter((v) => v.bitwidth === 8);
// The notes' 16- and 4-bit variants of the worked example.
const BITWIDTH_VARIANTS = TABLE.rows.filter((v) => v.bitwidth !== 8);
// The blog post's numbers, which SPEC says are wrong.
const BLOG = TABLE.notTheBlogPost;

// Repeats a vector to `length` elements, so the SIMD loops (16 at a time)
// and their scalar tails are both exercised.
function tile(values, length) {
  return Array.from({ length }, (_, i) => values[i % values.length]);
}

const expectedEncoding = (v, bitwidth = 8) => ({
  bitwidth,
  min: v.min,
  max: v.max,
  scale: v.scale,
  offset: v.offset,
  isSymmetric: false,
});

describe('the test model of SPEC §2 itself', () => {
  it.each(VECTORS)('reproduces the table: $name', (v) => {
    expectEncodingClose(refEncoding(...v.range), expectedEncoding(v), 1e-9);
  });
});

describe.each(BACKENDS)('SPEC §2.1 reference vectors, backend %s', (backend) => {
  let wq;
  beforeAll(async () => {
    wq = await quantizerFor(backend);
    expect(wq.backend).toBe(backend);
  });

  describe.each(VECTORS)('$name', (v) => {
    for (const length of [v.input.length, 16 * 3 + v.input.length]) {
      it(`quantize and dequantize (length ${length})`, () => {
        const x = Float32Array.from(tile(v.input, length));
        const { codes, encoding } = wq.quantize(x);
        expectEncodingClose(encoding, expectedEncoding(v));
        expect(codes).toBeInstanceOf(Uint8Array);
        expect(codes.length).toBe(length);
        const expectedCodes = tile(v.codes, length);
        for (let i = 0; i < length; i += 1) {
          if (expectedCodes[i] === null) {
            expect([0, 1]).toContain(codes[i]);
          } else {
            expect(codes[i], `code ${i}`).toBe(expectedCodes[i]);
          }
        }
        const x2 = wq.dequantize(codes, encoding);
        expect(x2).toBeInstanceOf(Float32Array);
        expect(x2.length).toBe(length);
        if (v.dequantized) {
          const expected = tile(v.dequantized, length);
          for (let i = 0; i < length; i += 1) expectClose(x2[i], expected[i], 1e-6, `x̂[${i}]`);
        }
        // Whatever the table leaves open, x̂ is (q + offset) * scale.
        for (let i = 0; i < length; i += 1) {
          expectClose(x2[i], refDequantize(codes[i], encoding), 1e-6, `x̂[${i}] from its code`);
        }
      });
    }

    it('computeEncoding on the table range', () => {
      const encoding = wq.computeEncoding(...v.range);
      expectEncodingClose(encoding, expectedEncoding(v));
    });

    if (v.dequantized) {
      it('dequantize of the table codes with the table encoding', () => {
        const x2 = wq.dequantize(Uint8Array.from(v.codes), expectedEncoding(v));
        v.dequantized.forEach((d, i) => expectClose(x2[i], d, 1e-6, `x̂[${i}]`));
      });
    }
  });

  describe.each(BITWIDTH_VARIANTS)('$name', (variant) => {
    const n = steps(variant.bitwidth);
    const expected = {
      bitwidth: variant.bitwidth,
      min: variant.offset * variant.scale,
      max: (variant.offset + n) * variant.scale,
      scale: variant.scale,
      offset: variant.offset,
      isSymmetric: false,
    };
    const Codes = variant.bitwidth <= 8 ? Uint8Array : Uint16Array;

    it('quantize', () => {
      const x = Float32Array.from([-1.8, -1.0, 0, 0.5]);
      const { codes, encoding } = wq.quantize(x, { bitwidth: variant.bitwidth });
      expectEncodingClose(encoding, expected);
      expect(codes).toBeInstanceOf(Codes);
      expect(Array.from(codes)).toEqual(variant.codes);
      const x2 = wq.dequantize(codes, encoding);
      expect(x2[2]).toBe(0);
      variant.codes.forEach((q, i) => expectClose(x2[i], (q + variant.offset) * variant.scale, 1e-6));
    });

    it('computeEncoding', () => {
      expectEncodingClose(wq.computeEncoding(-1.8, 0.5, { bitwidth: variant.bitwidth }), expected);
    });

    it('tiled past the SIMD width', () => {
      const x = Float32Array.from(tile([-1.8, -1.0, 0, 0.5], 4 * 13));
      const { codes } = wq.quantize(x, { bitwidth: variant.bitwidth });
      expect(Array.from(codes)).toEqual(tile(variant.codes, 4 * 13));
    });
  });

  it("does not produce the blog post's shifted encoding", () => {
    const x = Float32Array.from([-1.8, -1.0, 0, 0.5]);
    for (const encoding of [wq.quantize(x).encoding, wq.computeEncoding(-1.8, 0.5)]) {
      expect(Math.abs(encoding.min - BLOG.min)).toBeGreaterThan(1e-3);
      expect(Math.abs(encoding.max - BLOG.max)).toBeGreaterThan(1e-3);
      // The documentation's encoding puts a grid point on zero: -min/scale
      // is the integer 200, where the blog's gives 199.13...
      expectClose(-encoding.min / encoding.scale, 200, 1e-9, '-min/scale');
    }
    const { codes, encoding } = wq.quantize(x);
    expect(Array.from(codes)).not.toEqual(BLOG.codes);
    expect(wq.dequantize(codes, encoding)[2]).toBe(0);
  });

  describe('exact zero at every bitwidth', () => {
    const datasets = {
      'mixed signs': () => {
        const x = normalArray(1000, 7, { mean: 0.4, sigma: 1.3 });
        x[123] = 0;
        return x;
      },
      'skewed [-0.3, 7.1]': () => Float32Array.from([-0.3, 7.1, 0, 2.2, 0, -0.1]),
      'all negative': () => Float32Array.from([-3.3, -0.7, 0, -1.25]),
      'all positive': () => Float32Array.from([0.2, 9.5, 0, 3.3]),
      'worked example': () => Float32Array.from([-1.8, -1.0, 0, 0.5]),
      'zeros (negative zero too)': () => Float32Array.from([0, -0, 0, -0]),
    };
    for (let bitwidth = 2; bitwidth <= 16; bitwidth += 1) {
      it(`bitwidth ${bitwidth}`, () => {
        for (const [name, make] of Object.entries(datasets)) {
          const x = make();
          const { codes, encoding } = wq.quantize(x, { bitwidth });
          expect(Number.isInteger(encoding.offset), name).toBe(true);
          expect(encoding.offset).toBeLessThanOrEqual(0);
          expect(encoding.offset).toBeGreaterThanOrEqual(-steps(bitwidth));
          const x2 = wq.dequantize(codes, encoding);
          for (let i = 0; i < x.length; i += 1) {
            if (x[i] !== 0) continue;
            expect(codes[i], `${name}: code of 0.0`).toBe(0 - encoding.offset);
            expect(x2[i] === 0, `${name}: x̂ of 0.0 is ${x2[i]}`).toBe(true);
          }
          // The zero point given on its own, through computeEncoding too.
          const { lo, hi } = { lo: Math.min(...x), hi: Math.max(...x) };
          const computed = wq.computeEncoding(lo, hi, { bitwidth });
          const Codes = bitwidth <= 8 ? Uint8Array : Uint16Array;
          const zero = wq.dequantize(Codes.of(0 - computed.offset), computed);
          expect(zero[0] === 0, `${name}: computeEncoding zero point`).toBe(true);
        }
      });
    }
  });
});
