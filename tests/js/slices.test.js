// channelSlices: the slices tile the tensor in order, every element lands in
// the channel (i / inner) % channels of the whole tensor says, and the
// slices quantized with their part of the encodings give the whole tensor's
// codes bit for bit.
import { beforeAll, describe, expect, it } from 'vitest';
import { channelSlices, createQuantizer } from '../../web/index.js';
import { mulberry32 } from './helpers.js';

let wq;
beforeAll(async () => {
  wq = await createQuantizer();
});

const product = (dims) => dims.reduce((a, b) => a * b, 1);

// The channel of element i of the whole tensor, from the shape alone.
function channelOf(shape, axis, i) {
  if (axis === undefined) return 0;
  const at = axis < 0 ? axis + shape.length : axis;
  return Math.floor(i / product(shape.slice(at + 1))) % shape[at];
}

function expectTiling(shape, axis, maxLength, slices) {
  let next = 0;
  for (const s of slices) {
    expect(s.start).toBe(next);
    expect(s.length).toBeGreaterThan(0);
    expect(s.length).toBeLessThanOrEqual(maxLength);
    expect(product(s.shape)).toBe(s.length);
    for (let j = 0; j < s.length; j += 1) {
      const got = s.channel + (Math.floor(j / s.inner) % s.channels);
      if (got !== channelOf(shape, axis, s.start + j)) expect.fail(`slice at ${s.start}: element ${j} in channel ${got}`);
    }
    next += s.length;
  }
  expect(next).toBe(product(shape));
}

const CASES = [
  { shape: [6, 5, 4], axis: 1, maxLength: 64 }, // whole [channels, inner] blocks, several per slice
  { shape: [3, 40, 7], axis: 1, maxLength: 64 }, // groups of channel runs
  { shape: [2, 3, 100], axis: 1, maxLength: 30 }, // pieces of one channel's run
  { shape: [10, 9], axis: -1, maxLength: 20 }, // last axis, negative
  { shape: [9, 10], axis: 0, maxLength: 1000 }, // one slice
  { shape: [1000], axis: undefined, maxLength: 333 }, // per tensor
];

describe('channelSlices', () => {
  for (const { shape, axis, maxLength } of CASES) {
    it(`${JSON.stringify(shape)} axis ${axis}, at most ${maxLength}: tiles the tensor, channels right, codes equal`, () => {
      const slices = [...channelSlices(shape, axis, { maxLength })];
      expectTiling(shape, axis, maxLength, slices);
      const random = mulberry32(shape.length * 31 + maxLength);
      const x = Float32Array.from({ length: product(shape) }, () => random() * 4 - 1);
      const layout = axis === undefined ? {} : { shape, axis };
      const whole = wq.quantize(x, layout);
      const codes = new whole.codes.constructor(x.length);
      for (const s of slices) {
        const encoding = axis === undefined ? whole.encoding : whole.encoding.slice(s.channel, s.channel + s.channels);
        const part = wq.quantize(x.subarray(s.start, s.start + s.length), { encoding, shape: s.shape, axis: s.axis });
        codes.set(part.codes, s.start);
      }
      expect(codes).toEqual(whole.codes);
    });
  }

  it("options.channel keeps exactly that channel's elements, in order", () => {
    const shape = [3, 4, 50];
    const slices = [...channelSlices(shape, 1, { maxLength: 20, channel: 2 })];
    const indices = slices.flatMap((s) => Array.from({ length: s.length }, (_, j) => s.start + j));
    const expected = Array.from({ length: product(shape) }, (_, i) => i).filter((i) => channelOf(shape, 1, i) === 2);
    expect(indices).toEqual(expected);
    expect(slices.every((s) => s.channel === 2 && s.channels === 1)).toBe(true);
  });

  it('rejects bad shapes, axes and options by name', () => {
    const all =
      (...args) =>
      () => [...channelSlices(...args)];
    expect(all('3', 0)).toThrow(/channelSlices: shape must be an array/);
    expect(all([3, -1], 0)).toThrow(/shape\[1\] must be a non-negative integer/);
    expect(all([3, 4], 2)).toThrow(/axis must be from -2 to 1, got 2/);
    expect(all([3, 4], 0.5)).toThrow(/axis must be an integer/);
    expect(all([3, 4], 0, { maxLength: 0 })).toThrow(/maxLength must be from 1/);
    expect(all([3, 4], 0, { channel: 3 })).toThrow(/channel must be from 0 to 2, got 3/);
    expect(all([3, 4], undefined, { channel: 0 })).toThrow(/channel needs axis/);
    expect(all([3, 4], 0, { size: 2 })).toThrow(/unknown option 'size'/);
  });
});
