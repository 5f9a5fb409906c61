// Leaks and bounded memory: repeated calls (successful or throwing) must
// grow neither the wasm heap (its top, wq.heapBytes()) nor the wasm memory,
// and a 256 MB input goes through the fixed scratch area.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BACKENDS,
  CHUNK,
  allowedCodes,
  checkWasmquantError,
  mulberry32,
  normalArray,
  quantizerFor,
  refEncoding,
  wasmMemoryBytes,
} from './helpers.js';

const MiB = 1024 * 1024;

describe.each(BACKENDS)('memory, backend %s', (backend) => {
  let wq;
  beforeAll(async () => {
    wq = await quantizerFor(backend);
  });

  const inputs = [normalArray(1, 1), normalArray(17, 2), normalArray(1000, 3), normalArray(CHUNK + 3, 4)];
  const withNaN = normalArray(CHUNK + 40, 5);
  withNaN[CHUNK + 1] = Number.NaN;
  const given = { bitwidth: 8, scale: 0.02, offset: -128 };

  // One round of everything, successful calls only.
  function work(i) {
    const x = inputs[i % 997 === 0 ? 3 : i % 3];
    const bitwidth = 2 + (i % 15);
    const { codes, encoding } = wq.quantize(x, { bitwidth });
    wq.dequantize(codes, encoding);
    wq.analyze(x, { bitwidth });
    wq.computeEncoding(-1, i % 7, { bitwidth });
    if (i % 5 === 0) {
      wq.quantize(x, { encoding: given, rounding: 'half-even' });
      wq.analyze(withNaN, { nonFinite: 'saturate' });
      wq.quantize(withNaN, { nonFinite: 'saturate' });
    }
    if (i % 250 === 0) {
      const t = wq.allocTensor(x.length);
      t.data.set(x);
      wq.quantize(t);
      wq.analyze(t);
      t.free();
    }
  }

  // Calls that throw, in the core and in the JS layer.
  const failing = [
    () => wq.quantize(withNaN), // the calibration (RangeTracker) fails
    () => wq.analyze(withNaN), // the same, for analyze
    () => wq.quantize(withNaN, { encoding: given }), // QuantizeChunk fails
    () => wq.analyze(withNaN, { encoding: given }), // the ErrorAccumulator fails
    () => wq.dequantize(Uint8Array.of(0, 16), { bitwidth: 4, scale: 0.1, offset: 0 }),
    () => wq.dequantize(new Uint8Array(3), { bitwidth: 8, scale: 0, offset: 0 }),
    () => wq.quantize(inputs[2], { encoding: { bitwidth: 8, scale: 0.1, offset: 5 } }),
    () => wq.quantize(new Float32Array(0)),
    () => wq.quantize(inputs[2], { bitwidth: 17 }),
    () => wq.quantize([1, 2]),
    () => wq.computeEncoding(2, 1),
    () => wq.quantize(Float32Array.of(Number.NaN), { nonFinite: 'saturate' }),
  ];

  function throwing(i) {
    const call = failing[i % failing.length];
    try {
      call();
    } catch (e) {
      checkWasmquantError(e);
      return;
    }
    throw new Error(`call ${i % failing.length} did not throw`);
  }

  it('10,000 rounds of quantize/dequantize/analyze/computeEncoding leak nothing', () => {
    for (let i = 0; i < 200; i += 1) work(i); // warm-up: the allocator settles
    const heap = wq.heapBytes();
    const memory = wasmMemoryBytes(wq);
    expect(heap).toBeGreaterThan(0);
    for (let i = 0; i < 10_000; i += 1) work(i);
    expect(wq.heapBytes()).toBe(heap);
    expect(wasmMemoryBytes(wq)).toBe(memory);
  });

  it('1,000 calls that throw leak nothing', () => {
    for (let i = 0; i < 100; i += 1) throwing(i);
    work(0);
    const heap = wq.heapBytes();
    const memory = wasmMemoryBytes(wq);
    for (let i = 0; i < 1_000; i += 1) throwing(i);
    expect(wq.heapBytes()).toBe(heap);
    expect(wasmMemoryBytes(wq)).toBe(memory);
    // and the quantizer still works afterwards
    expect(Array.from(wq.quantize(Float32Array.of(-1.8, -1, 0, 0.5)).codes)).toEqual([0, 89, 200, 255]);
  });

  it('a heap-top probe that would notice a leak', () => {
    // Sanity check of the method: memory that is not freed moves the top.
    const heap = wq.heapBytes();
    const tensors = [];
    for (let i = 0; i < 64; i += 1) tensors.push(wq.allocTensor(16 * 1024));
    expect(wq.heapBytes()).toBeGreaterThan(heap);
    for (const t of tensors) t.free();
  });

  it('a tensor too large for wasm memory is a readable RangeError, not an abort', () => {
    const heap = wq.heapBytes();
    for (const n of [0x3fffffff, 2 ** 31, 2 ** 40]) {
      let error;
      try {
        wq.allocTensor(n).free();
      } catch (e) {
        error = e;
      }
      expect(error, `allocTensor(${n})`).toBeInstanceOf(RangeError);
      checkWasmquantError(error);
      expect(error.message).toMatch(/allocate/);
    }
    expect(wq.heapBytes()).toBe(heap);
    expect(Array.from(wq.quantize(Float32Array.of(-1.8, -1, 0, 0.5)).codes)).toEqual([0, 89, 200, 255]);
  });

  it('a 64M-element (256 MB) Float32Array goes through bounded scratch', () => {
    const n = 64 * MiB;
    const x = new Float32Array(n);
    const random = mulberry32(77);
    for (let i = 0; i < n; i += 1) x[i] = random() * 4 - 1.5; // [-1.5, 2.5)
    x[n - 1] = 3; // the extremes in the last chunk and in the middle
    x[n >>> 1] = -2;

    const heap = wq.heapBytes();
    const memory = wasmMemoryBytes(wq);
    const { codes, encoding } = wq.quantize(x);
    expect(wq.heapBytes() - heap).toBeLessThan(4 * MiB);
    expect(wasmMemoryBytes(wq) - memory).toBeLessThan(4 * MiB);

    expect(codes.length).toBe(n);
    expect(encoding).toMatchObject({ offset: refEncoding(-2, 3).offset, bitwidth: 8 });
    expect(encoding.scale).toBeCloseTo(refEncoding(-2, 3).scale, 12);
    expect(codes[n - 1]).toBe(255);
    expect(codes[n >>> 1]).toBe(0);
    for (let i = 0; i < n; i += 65537) {
      expect(allowedCodes(x[i], encoding), `x[${i}] = ${x[i]}`).toContain(codes[i]);
    }

    const report = wq.analyze(x);
    expect(report.count).toBe(n);
    expect(report.clipped).toBe(0);
    // half a step, plus the float32 rounding of x and x̂ (|x| <= 3: ulp 2.4e-7)
    expect(report.maxAbsError).toBeLessThanOrEqual(encoding.scale / 2 + 5e-7);
    expect(report.maxAbsError).toBeGreaterThan((encoding.scale / 2) * 0.999);
    // uniform data: the error of a uniform quantizer is about scale^2 / 12
    expect(report.mse / (encoding.scale ** 2 / 12)).toBeCloseTo(1, 2);

    const x2 = wq.dequantize(codes, encoding);
    expect(x2.length).toBe(n);
    expect(wq.heapBytes() - heap).toBeLessThan(4 * MiB);
    expect(wasmMemoryBytes(wq) - memory).toBeLessThan(4 * MiB);
  });
});
