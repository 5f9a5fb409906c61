// tf and symmetric calibration reduce each activation to its range inside
// onnxruntime: the encodings are those of all the values (checked on the
// real models by calibrate.test.js); here, on a generated model, what only
// the reductions could get wrong: a NaN, which onnxruntime's ReduceMin and
// ReduceMax pass over unless it comes first, ±Infinity, a batch with no
// values, and the same error from the histogram schemes' path.
import { beforeAll, describe, expect, it } from 'vitest';
import { createQuantizer } from '../../../web/index.js';
import { calibrateModel } from '../../../web/models/index.js';
import { encode, floatTensor, graph, model, node, randomWeights, valueInfo } from './onnx-builder.js';
import { RUNTIMES } from './runtimes.js';

const ORT = RUNTIMES['onnxruntime-node'];
const FILE = 'mul.onnx';
const bytes = encode(
  model(
    graph({
      nodes: [node('Mul', ['x', 'k'], ['y'])],
      inputs: [valueInfo('x', ['n', 8])],
      outputs: [valueInfo('y', ['n', 8])],
      initializers: [floatTensor('k', [8], randomWeights(8, 1))],
    }),
  ),
);
const feed = (values, rows = 1) => ({ x: { dims: [rows, 8], data: Float32Array.from(values) } });
const good = [feed(randomWeights(8, 2)), feed(randomWeights(16, 3), 2)];
const withValue = (v) => {
  const x = randomWeights(8, 4);
  x[3] = v;
  return feed(x);
};

let wq;
beforeAll(async () => {
  wq = await createQuantizer();
});
const calibrate = (list, options = {}) => calibrateModel({ [FILE]: bytes }, list, { ort: ORT, quantizer: wq, ...options });

describe('calibrateModel: ranges computed in onnxruntime', () => {
  it('each encoding is that of all the values, symmetric too; the report has their range', async () => {
    const all = Float32Array.from([...good[0].x.data, ...good[1].x.data]);
    for (const options of [{}, { scheme: 'symmetric' }, { symmetric: true, bitwidth: 16 }]) {
      const result = await calibrate(good, options);
      const row = result.activations.find((a) => a.name === 'x');
      expect(row.encoding, JSON.stringify(options)).toEqual(wq.quantize(all, options).encoding);
      expect([row.min, row.max]).toEqual([Math.min(...all), Math.max(...all)]);
    }
  });

  for (const [value, text] of [
    [NaN, 'NaN'],
    [Infinity, 'Infinity'],
    [-Infinity, '-Infinity'],
  ]) {
    it(`a ${text} in the middle of an activation is a clear error naming the input and the activation`, async () => {
      await expect(calibrate([good[0], withValue(value)], { report: false })).rejects.toThrow(
        `wasmquant: calibrateModel: inputs[1]: activation "x" holds ${text}: calibration takes finite values only`,
      );
    });
  }

  it('the histogram schemes name the input and the activation too', async () => {
    await expect(calibrate([good[0], withValue(NaN)], { scheme: 'tf_enhanced', report: false })).rejects.toThrow(
      'wasmquant: calibrateModel: inputs[1]: activation "x" holds NaN (element 3): calibration takes finite values only',
    );
  });

  it('reads every value instead when onnxruntime cannot make the ranges model: the same encodings', async () => {
    const sessions = [];
    // An onnxruntime that refuses any second model (the ranges model), as one without ReduceMin might.
    const picky = {
      ...ORT,
      env: ORT.env,
      Tensor: ORT.Tensor,
      InferenceSession: {
        create: async (...args) => {
          sessions.push(args[0]);
          if (sessions.length > 1) throw new Error('no such op');
          return ORT.InferenceSession.create(...args);
        },
      },
    };
    const fallback = await calibrate(good, { ort: picky });
    expect(sessions).toHaveLength(2);
    expect(fallback.activations).toEqual((await calibrate(good)).activations);
  });

  it('a batch with no values leaves the ranges as they are', async () => {
    const empty = { x: { dims: [0, 8], data: new Float32Array(0) } };
    const withEmpty = await calibrate([good[0], empty, good[1]]);
    const without = await calibrate(good);
    expect(withEmpty.activations).toEqual(without.activations);
  });
});
