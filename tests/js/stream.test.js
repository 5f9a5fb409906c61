// The streaming API (quantizeStream / analyzeStream): the same codes, encodings
// and reports as the in-memory calls, for every kind of source, and memory
// that stays bounded on a 1 GiB tensor.
import { beforeAll, describe, expect, it } from 'vitest';
import { expectSameArray, normalArray, quantizerFor } from './helpers.js';

async function collect(chunks, Type, length) {
  const out = new Type(length);
  let next = 0;
  for await (const { codes, start } of chunks) {
    expect(start).toBe(next);
    out.set(codes, start);
    next += codes.length;
  }
  expect(next).toBe(length);
  return out;
}

// Splits x into uneven chunks, as a file reader or network stream would.
function* pieces(x) {
  const sizes = [1, 4095, 65536, 100000, 7];
  for (let at = 0, k = 0; at < x.length; k += 1) {
    const n = Math.min(sizes[k % sizes.length], x.length - at);
    yield x.slice(at, at + n);
    at += n;
  }
}

describe('streaming', () => {
  let wq;
  const x = normalArray(300_003, 5);
  beforeAll(async () => {
    wq = await quantizerFor('simd128');
  });

  const cases = [
    { name: 'tf', opts: {} },
    { name: '4-bit symmetric', opts: { bitwidth: 4, symmetric: true } },
    { name: 'tf_enhanced', opts: { scheme: 'tf_enhanced' } },
    { name: 'percentile', opts: { scheme: 'percentile', percentile: 99.9 } },
    { name: 'per-channel, last axis', opts: { shape: [100_001, 3], axis: -1 } },
    { name: '16-bit half-even', opts: { bitwidth: 16, rounding: 'half-even' } },
  ];
  for (const { name, opts } of cases) {
    it(`a Blob and an iterable factory give quantize()'s codes and encoding: ${name}`, async () => {
      const expected = wq.quantize(x, opts);
      const Type = expected.codes.constructor;
      for (const source of [new Blob([x]), () => pieces(x)]) {
        const { encoding, chunks } = await wq.quantizeStream(source, opts);
        expect(encoding).toEqual(expected.encoding);
        expectSameArray(await collect(chunks, Type, x.length), expected.codes, name);
      }
      // The double sums depend on how the data was cut, in the last bits.
      const streamed = await wq.analyzeStream(() => pieces(x), opts);
      const whole = wq.analyze(x, opts);
      expect(streamed.encoding).toEqual(whole.encoding);
      for (const key of ['count', 'clipped', 'nonFinite', 'maxAbsError']) expect(streamed[key]).toBe(whole[key]);
      for (const key of ['mse', 'rmse', 'meanAbsError', 'sqnrDb']) {
        expect(Math.abs(streamed[key] - whole[key])).toBeLessThanOrEqual(1e-12 * Math.abs(whole[key]));
      }
    });
  }

  it('a one-shot iterable works with a given encoding, and is refused for calibration', async () => {
    const { codes, encoding } = wq.quantize(x);
    const { chunks } = await wq.quantizeStream(pieces(x), { encoding });
    expectSameArray(await collect(chunks, Uint8Array, x.length), codes, 'given encoding');
    await expect(wq.quantizeStream(pieces(x))).rejects.toThrow(/more than once/);
  });

  it('rejects bad sources and bad chunks with clear errors', async () => {
    await expect(wq.quantizeStream(42)).rejects.toThrow(TypeError);
    await expect(wq.quantizeStream(new Blob([new Uint8Array(7)]))).rejects.toThrow(/divisible by 4/);
    await expect(wq.quantizeStream(() => [new Float64Array(3)])).rejects.toThrow(/Float32Array/);
    await expect(wq.quantizeStream(() => [])).rejects.toThrow(/empty/);
    await expect(wq.quantizeStream(() => [x], { shape: [3, 4], axis: 0 })).rejects.toThrow(/shape/);
    const withNaN = Float32Array.from(x.subarray(0, 70_000));
    withNaN[66_000] = NaN;
    await expect(wq.quantizeStream(() => pieces(withNaN))).rejects.toThrow(/66000/);
  });

  it('a 1 GiB tensor streams through a bounded wasm heap', async () => {
    const total = 1 << 28; // float32 values: 1 GiB
    const piece = 1 << 20;
    function* source() {
      for (let at = 0; at < total; at += piece) {
        const a = new Float32Array(piece);
        for (let i = 0; i < piece; i += 1) a[i] = Math.sin((at + i) * 1e-3) * 3;
        yield a;
      }
    }
    const heapBefore = wq.heapBytes();
    const rssBefore = process.memoryUsage().rss;
    const { encoding, chunks } = await wq.quantizeStream(source);
    let count = 0;
    let zeros = 0;
    for await (const { codes } of chunks) {
      count += codes.length;
      zeros += codes[0] === -encoding.offset ? 1 : 0;
    }
    expect(count).toBe(total);
    expect(zeros).toBeGreaterThan(0);
    expect(encoding.offset).toBe(-128);
    expect(wq.heapBytes()).toBe(heapBefore);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(256 * 2 ** 20);
  }, 120_000);
});
