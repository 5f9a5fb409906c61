// Calibration through If branches on a generated model: the element types
// inferred for the values inside them (only float ones are lifted, so that
// onnxruntime accepts the model calibration runs), a value that already is
// a branch output, and the branch the inputs take. Silero VAD is the real
// model (calibrate-vad.test.js).
import { create } from '@bufbuild/protobuf';
import { beforeAll, describe, expect, it } from 'vitest';
import { createQuantizer } from '../../../web/index.js';
import { calibrateModel } from '../../../web/models/index.js';
import { valueTypes } from '../../../web/models/onnx/branches.js';
import { TensorProtoSchema } from '../../../web/models/onnx/onnx_pb.js';
import { T, encode, floatTensor, graph, int64Tensor, model, node, randomWeights, valueInfo } from './onnx-builder.js';
import { RUNTIMES } from './runtimes.js';

const ORT = RUNTIMES['onnxruntime-node'];

// x [1, 6] → If(flag): then Mul(x, k) → a, Shape(a) → s, Reshape(a, s) → r,
// Relu(r) → out; else Relu(x) → out.
function ifModel() {
  const then = graph({
    name: 'then',
    nodes: [node('Mul', ['x', 'k'], ['a']), node('Shape', ['a'], ['s']), node('Reshape', ['a', 's'], ['r']), node('Relu', ['r'], ['out_then'])],
    inputs: [],
    outputs: [valueInfo('out_then', [1, 6])],
  });
  const otherwise = graph({ name: 'else', nodes: [node('Relu', ['x'], ['out_else'])], inputs: [], outputs: [valueInfo('out_else', [1, 6])] });
  return model(
    graph({
      nodes: [node('If', ['flag'], ['y'], { then_branch: then, else_branch: otherwise })],
      inputs: [valueInfo('x', [1, 6]), valueInfo('flag', [], T.BOOL)],
      outputs: [valueInfo('y', [1, 6])],
      initializers: [floatTensor('k', [6], randomWeights(6, 1))],
    }),
  );
}

const feeds = (flag) =>
  [1, 2].map((seed) => ({
    x: { dims: [1, 6], data: randomWeights(6, seed + 3) },
    flag: { type: 'bool', dims: [], data: Uint8Array.of(flag ? 1 : 0) },
  }));

let wq;
beforeAll(async () => {
  wq = await createQuantizer();
});

describe('calibration through If branches', () => {
  it('infers float, shape, mask and code types, per output of multi-output ops', () => {
    const g = graph({
      nodes: [
        node('Shape', ['x'], ['shape']),
        node('Cast', ['shape'], ['shape_f'], { to: T.FLOAT }),
        node('Equal', ['x', 'x'], ['mask']),
        node('TopK', ['x', 'kk'], ['values', 'indices']),
        node('QuantizeLinear', ['x', 'scale', 'zero'], ['codes']),
        node('Gather', ['x', 'indices'], ['picked']),
      ],
      inputs: [valueInfo('x', [1, 6])],
      outputs: [],
      initializers: [
        int64Tensor('kk', [1], [2]),
        floatTensor('scale', [], [0.1]),
        create(TensorProtoSchema, { name: 'zero', dataType: T.INT8, dims: [], rawData: new Uint8Array(1) }),
      ],
    });
    const types = valueTypes(g);
    expect(Object.fromEntries(['shape', 'shape_f', 'mask', 'values', 'indices', 'codes', 'picked'].map((n) => [n, types.get(n)]))).toEqual({
      shape: T.INT64,
      shape_f: T.FLOAT,
      mask: T.BOOL,
      values: T.FLOAT,
      indices: T.INT64,
      codes: T.INT8,
      picked: T.FLOAT,
    });
  });

  it("calibrates the float values of the branch taken (a branch's own output too), not its shapes", async () => {
    const bytes = encode(ifModel());
    const taken = await calibrateModel({ 'if.onnx': bytes }, feeds(true), { ort: ORT, quantizer: wq });
    expect(taken.activations.map((a) => a.name)).toEqual(['x', 'a', 'r', 'out_then']);
    const other = await calibrateModel({ 'if.onnx': bytes }, feeds(false), { ort: ORT, quantizer: wq });
    expect(other.activations.map((a) => a.name)).toEqual(['x', 'out_else']);
    // Both written models run, either way.
    for (const result of [taken, other]) {
      const session = await ORT.InferenceSession.create(result.files['if.onnx']);
      for (const flag of [0, 1]) {
        const out = await session.run({
          x: new ORT.Tensor('float32', randomWeights(6, 9), [1, 6]),
          flag: new ORT.Tensor('bool', Uint8Array.of(flag), []),
        });
        expect(out.y.dims).toEqual([1, 6]);
      }
      await session.release?.();
    }
  });
});
