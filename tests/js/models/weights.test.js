// quantizeWeight in blocks, in each of its layouts (contiguous blocks, slabs
// of columns, and the transposed fallback for more than 64 Ki columns),
// against an independent reference per block: SPEC §2's encoding of the
// block's values and its codes, in the scale tensor's row-major order.
import { beforeAll, describe, expect, it } from 'vitest';
import { createQuantizer } from '../../../web/index.js';
import { quantizeWeight } from '../../../web/models/weights.js';
import { allowedCodes, mulberry32, refEncodingOf } from '../helpers.js';

let wq;
beforeAll(async () => {
  wq = await createQuantizer();
});

const product = (dims) => dims.reduce((a, b) => a * b, 1);

function values(count, seed) {
  const random = mulberry32(seed);
  return Float32Array.from({ length: count }, () => (random() - 0.3) * 2);
}

// The element indices of each block, in the order [outer, blocks, inner].
function blockIndices(shape, axis, size) {
  const outer = product(shape.slice(0, axis));
  const dim = shape[axis];
  const inner = product(shape.slice(axis + 1));
  const out = [];
  for (let o = 0; o < outer; o += 1) {
    for (let k = 0; k < dim; k += size) {
      for (let i = 0; i < inner; i += 1) {
        const block = [];
        for (let t = k; t < Math.min(k + size, dim); t += 1) block.push((o * dim + t) * inner + i);
        out.push(block);
      }
    }
  }
  return out;
}

const decision = (axis, blockSize) => ({ bitwidth: 4, scheme: 'tf', symmetric: false, rounding: 'half-up', axis, blockSize });

function expectReference(x, shape, axis, size, { codes, encodings, sqnrDb }) {
  const blocks = blockIndices(shape, axis, size);
  expect(encodings.length).toBe(blocks.length);
  let signal = 0;
  let error = 0;
  blocks.forEach((block, b) => {
    const ref = refEncodingOf(
      block.map((i) => x[i]),
      { bitwidth: 4 },
    );
    const got = encodings.at(b);
    expect(got.offset, `block ${b}`).toBe(ref.offset);
    expect(Math.abs(got.scale - ref.scale) / ref.scale, `block ${b}`).toBeLessThan(1e-12);
    for (const i of block) {
      if (!allowedCodes(x[i], ref).includes(codes[i])) expect.fail(`block ${b}: x[${i}] = ${x[i]} got code ${codes[i]}`);
      const e = Math.fround((codes[i] + got.offset) * Math.fround(got.scale)) - x[i];
      signal += x[i] * x[i];
      error += e * e;
    }
  });
  expect(Math.abs(sqnrDb - 10 * Math.log10(signal / error))).toBeLessThan(1e-6);
}

describe('quantizeWeight in blocks', () => {
  const cases = [
    { shape: [70, 24], axis: 0, size: 32, what: 'MatMul [K, N] along K, a short last block: slabs' },
    { shape: [2, 70, 3], axis: 1, size: 16, what: 'a middle axis: slabs per outer index' },
    { shape: [5, 40], axis: 1, size: 16, what: 'the last axis: contiguous blocks, short ones apart' },
    { shape: [3, 65537], axis: 0, size: 2, what: 'more than 64 Ki columns: transposed' },
  ];
  for (const { shape, axis, size, what } of cases) {
    it(`${what} ${JSON.stringify(shape)}`, () => {
      const x = values(product(shape), shape.length * 7 + axis);
      expectReference(x, shape, axis, size, quantizeWeight(wq, x, shape, decision(axis, size)));
    });
  }

  it('takes a WasmTensor as it takes a Float32Array', () => {
    const shape = [40, 33];
    const x = values(product(shape), 3);
    const tensor = wq.allocTensor(x.length);
    try {
      tensor.data.set(x);
      for (const d of [decision(0, 16), decision(1, null), decision(null, null)]) {
        const fromTensor = quantizeWeight(wq, tensor, shape, d);
        const fromArray = quantizeWeight(wq, x, shape, d);
        expect(fromTensor.codes).toEqual(fromArray.codes);
        expect(fromTensor.encodings.rows).toEqual(fromArray.encodings.rows);
        expect(fromTensor.sqnrDb).toBe(fromArray.sqnrDb);
      }
      expectReference(x, shape, 0, 16, quantizeWeight(wq, tensor, shape, decision(0, 16)));
    } finally {
      tensor.free();
    }
  });
});
