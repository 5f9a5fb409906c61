// createCalibrator: a tensor fed in batches, once per pass, calibrates to the
// encoding quantize gives the whole tensor (every scheme, per tensor and per
// channel, both backends), and misuse is a clear error.
import { beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, expectWasmquantError, normalArray, quantizerFor } from './helpers.js';

const SCHEMES = [{}, { scheme: 'symmetric', bitwidth: 4 }, { scheme: 'tf_enhanced' }, { scheme: 'percentile', percentile: 99.5 }, { bitwidth: 16 }];

// Feeds x to the calibration in batches of `size`, once per pass.
function calibrate(wq, x, options, size) {
  const c = wq.createCalibrator(options);
  for (let pass = 0; pass < c.passes; pass += 1) {
    expect(c.pass).toBe(pass);
    for (let s = 0; s < x.length; s += size) c.add(x.subarray(s, s + size));
    c.endPass();
  }
  const encoding = c.finish();
  expect(c.finished).toBe(true);
  return encoding;
}

describe.each(BACKENDS)('createCalibrator, backend %s', (backend) => {
  let wq;
  beforeAll(async () => {
    wq = await quantizerFor(backend);
  });

  for (const options of SCHEMES) {
    it(`batches give the whole tensor's encoding: ${JSON.stringify(options)}`, () => {
      const x = normalArray(200003, 11, { mean: 0.2, sigma: 1.5 });
      for (const size of [1000, 65536 + 7, x.length]) {
        expect(calibrate(wq, x, options, size), `batches of ${size}`).toEqual(wq.quantize(x, options).encoding);
      }
    });
  }

  it("per channel: shape and axis are one batch's; batches follow along a new outer axis", () => {
    const [C, HW, N] = [6, 49, 40];
    const x = normalArray(N * C * HW, 5, { sigma: 2 });
    for (const options of [{}, { scheme: 'tf_enhanced' }, { scheme: 'percentile' }]) {
      const got = calibrate(wq, x, { ...options, shape: [C, HW], axis: 0 }, C * HW * 4);
      expect(got).toEqual(wq.quantize(x, { ...options, shape: [N, C, HW], axis: 1 }).encoding);
    }
  });

  it('misuse: batch sizes, empty or unequal passes, finishing early, adding late, non-finite values', () => {
    const x = normalArray(1000, 3);
    const c = wq.createCalibrator({ scheme: 'tf_enhanced', shape: [10, 10], axis: 0 });
    expectWasmquantError(() => c.add(x.subarray(0, 150)), RangeError, /multiple of 100 values/);
    expectWasmquantError(() => c.add([1, 2]), TypeError, /Float32Array/);
    expectWasmquantError(() => c.endPass(), RangeError, /no values were added in pass 0/);
    c.add(x);
    c.endPass();
    expectWasmquantError(() => c.finish(), Error, /needs all 2 passes; pass 1 has not ended/);
    c.add(x.subarray(0, 500));
    expectWasmquantError(() => c.endPass(), RangeError, /pass 1 saw 500 values, pass 0 saw 1000/);
    c.free();
    expectWasmquantError(() => c.add(x), Error, /finished or freed/);

    const d = wq.createCalibrator();
    d.add(x);
    d.endPass();
    expectWasmquantError(() => d.add(x), Error, /all 1 passes are done/);
    const first = d.finish();
    expect(d.finish()).toBe(first); // the result stays
    expectWasmquantError(() => d.add(x), Error, /finished or freed/);

    const e = wq.createCalibrator();
    e.add(x);
    const bad = x.slice();
    bad[17] = Number.NaN;
    // The element's index counts from the start of the pass, across batches.
    expectWasmquantError(() => e.add(bad), RangeError, /element 1017 is NaN/);
    e.free();

    expectWasmquantError(() => wq.createCalibrator({ encoding: { bitwidth: 8, scale: 1, offset: 0 } }), TypeError, /no encoding or pack/);
    expectWasmquantError(
      () => wq.createCalibrator({ scheme: 'percentile', percentile: 20 }),
      RangeError,
      /percentile must be a number from 50 to 100/,
    );
  });

  it('leaves the wasm heap where it was', () => {
    const x = normalArray(100000, 9);
    calibrate(wq, x, { scheme: 'percentile' }, 30000);
    const before = wq.heapBytes();
    for (let r = 0; r < 20; r += 1) {
      calibrate(wq, x, { scheme: 'percentile' }, 30000);
      wq.createCalibrator({ scheme: 'tf_enhanced' }).free();
    }
    expect(wq.heapBytes()).toBe(before);
  });
});
