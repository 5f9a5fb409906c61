// analyzeMany / analyzeManyStream: one report per options object, the same
// numbers as one analyze call per options object, whatever the mix of
// schemes, bitwidths, layouts and given encodings, from arrays, WasmTensors
// and streams.
import { beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, expectWasmquantError, expectWasmquantRejection, normalArray, quantizerFor } from './helpers.js';

// The demo's comparison grid, per-channel and given-encoding variants, and
// options that must not share their calibration passes.
function grid(shape) {
  const list = [];
  for (const bitwidth of [4, 8, 16]) {
    list.push({ bitwidth }, { bitwidth, scheme: 'symmetric' }, { bitwidth, scheme: 'tf_enhanced' });
    list.push({ bitwidth, scheme: 'percentile' }, { bitwidth, scheme: 'percentile', percentile: 99 });
  }
  list.push({ bitwidth: 8, minRange: 40 }, { scheme: 'tf_enhanced', minRange: 40 });
  list.push({ scheme: 'symmetric', strict: true }, { scheme: 'symmetric', unsignedSymmetric: true });
  list.push({ bitwidth: 12, rounding: 'half-even' });
  list.push({ encoding: { bitwidth: 8, scale: 0.02, offset: -100 } });
  list.push({ encoding: { bitwidth: 6, min: -1, max: 2 } });
  if (shape) {
    list.push({ shape, axis: 0 }, { shape, axis: 0, scheme: 'tf_enhanced', bitwidth: 4 });
    list.push({ shape, axis: -1 }, { shape, axis: -1, scheme: 'percentile' });
  }
  return list;
}

async function* pieces(x, size = 50001) {
  for (let i = 0; i < x.length; i += size) yield x.slice(i, i + size);
}

describe.each(BACKENDS)('analyzeMany (%s)', (backend) => {
  let wq;
  beforeAll(async () => {
    wq = await quantizerFor(backend);
  });

  it.each([
    ['a Float32Array of many chunks', 300_000, [600, 500]],
    ['a Float32Array of one chunk', 4096, [64, 64]],
    ['seven elements', 7, [7, 1]],
  ])('%s: every report is the one analyze gives', (what, n, shape) => {
    const x = normalArray(n, 11, { mean: 0.3 });
    const list = grid(shape);
    const many = wq.analyzeMany(x, list);
    expect(many).toHaveLength(list.length);
    list.forEach((options, i) => expect(many[i], JSON.stringify(options)).toEqual(wq.analyze(x, options)));
  });

  it('a WasmTensor gives the same reports as its array', () => {
    const x = normalArray(200_003, 5);
    const t = wq.allocTensor(x.length);
    try {
      t.data.set(x);
      const list = grid();
      const many = wq.analyzeMany(t, list);
      expect(many).toEqual(wq.analyzeMany(x, list));
      list.forEach((options, i) => expect(many[i]).toEqual(wq.analyze(t, options)));
    } finally {
      t.free();
    }
  });

  it('non-finite values: saturated as analyze does, or the same error', () => {
    const x = normalArray(100_000, 9);
    x[70_000] = NaN;
    x[99_999] = -Infinity;
    const list = grid([1000, 100]).map((o) => ({ ...o, nonFinite: 'saturate' }));
    const many = wq.analyzeMany(x, list);
    list.forEach((options, i) => expect(many[i]).toEqual(wq.analyze(x, options)));
    const error = expectWasmquantError(() => wq.analyzeMany(x, grid()), RangeError, /element 70000 is NaN/);
    expectWasmquantError(() => wq.analyze(x), RangeError, error.message);
  });

  it('an empty list gives no reports; bad lists and options are clear errors', () => {
    const x = normalArray(100, 1);
    expect(wq.analyzeMany(x, [])).toEqual([]);
    expectWasmquantError(() => wq.analyzeMany(x, { bitwidth: 8 }), TypeError, /array of options/);
    expectWasmquantError(() => wq.analyzeMany(x, [{}, { bitwidth: 1 }]), RangeError, /options\[1\]: bitwidth/);
    expectWasmquantError(() => wq.analyzeMany(x, [{ out: x }]), TypeError, /options\[0\]: analyzeMany takes no/);
    expectWasmquantError(() => wq.analyzeMany(x, [{ shape: [3, 3], axis: 0 }]), RangeError, /options\[0\]: shape/);
    expectWasmquantError(() => wq.analyzeMany([1, 2], [{}]), TypeError, /Float32Array/);
  });

  it('analyzeManyStream: the reports of analyzeMany, read once per pass', async () => {
    const x = normalArray(250_000, 3);
    const list = grid([500, 500]);
    expect(await wq.analyzeManyStream(() => pieces(x), list)).toEqual(wq.analyzeMany(x, list));
    const blob = new Blob([x]);
    expect(await wq.analyzeManyStream(blob, list.slice(0, 3))).toEqual(wq.analyzeMany(x, list.slice(0, 3)));
  });

  it('analyzeManyStream: a one-shot iterable serves given encodings only', async () => {
    const x = normalArray(120_000, 4);
    const given = grid().filter((o) => o.encoding !== undefined);
    expect(await wq.analyzeManyStream(pieces(x), given)).toEqual(wq.analyzeMany(x, given));
    await expectWasmquantRejection(wq.analyzeManyStream(pieces(x), [{}]), /more than once/);
    await expectWasmquantRejection(
      wq.analyzeManyStream(() => pieces(x), [{ shape: [7], axis: 0 }]),
      /held 120000 values, but shape says 7/,
    );
  });
});
