// Folding a Conv's norm and per-channel affine ops into its weight and bias
// (calibrateModel's `fold`), on generated models: what folds computes what
// the unfolded model computes, as onnxruntime runs it with its own graph
// optimizations off; what must not fold (a shared or exposed output, a
// broadcast that is not per channel, a shared weight, a training-mode norm,
// a grouped ConvTranspose, a float16 weight) is left as it is. Then
// calibrateModel on generated models: folding by default, external data,
// a Gemm's initializer bias.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, fromBinary } from '@bufbuild/protobuf';
import { beforeAll, describe, expect, it } from 'vitest';
import { createQuantizer } from '../../../web/index.js';
import { calibrateModel } from '../../../web/models/index.js';
import { foldIntoConvs } from '../../../web/models/onnx/fold.js';
import { ModelProtoSchema, NodeProtoSchema } from '../../../web/models/onnx/onnx_pb.js';
import { attr, encode, externalize, floatTensor, graph, mlp, model, node, randomWeights, valueInfo } from './onnx-builder.js';
import { RUNTIMES, closeness, runOnnx } from './runtimes.js';

const ORT = RUNTIMES['onnxruntime-node'];
const decode = (bytes) => fromBinary(ModelProtoSchema, bytes);
const ops = (m) => m.graph.node.map((n) => n.opType);
const positive = (count, seed) => Float32Array.from(randomWeights(count, seed), (v) => 0.5 + Math.abs(v));
const image = (dims, seed = 1) => ({
  x: {
    dims,
    data: randomWeights(
      dims.reduce((a, b) => a * b),
      seed,
    ),
  },
});

function constantNode(name, tensor) {
  return create(NodeProtoSchema, { opType: 'Constant', input: [], output: [name], name: `Constant_${name}`, attribute: [attr('value', tensor)] });
}

// x [1, 3, 8, 8] → Conv (no bias) → BatchNormalization → Mul by a scalar
// Constant → Add of a [1, 4, 1, 1] constant (first input) → Relu → y.
function convChain() {
  return model(
    graph({
      nodes: [
        node('Conv', ['x', 'W'], ['c'], { pads: [1, 1, 1, 1] }),
        node('BatchNormalization', ['c', 'gamma', 'beta', 'mean', 'var'], ['n'], { epsilon: 1e-3 }),
        constantNode('k', floatTensor('k', [], [1.7])),
        node('Mul', ['n', 'k'], ['m']),
        node('Add', ['shift', 'm'], ['a']),
        node('Relu', ['a'], ['y']),
      ],
      inputs: [valueInfo('x', [1, 3, 8, 8])],
      outputs: [valueInfo('y', [1, 4, 8, 8])],
      initializers: [
        floatTensor('W', [4, 3, 3, 3], randomWeights(108, 2)),
        floatTensor('gamma', [4], randomWeights(4, 3)),
        floatTensor('beta', [4], randomWeights(4, 4)),
        floatTensor('mean', [4], randomWeights(4, 5)),
        floatTensor('var', [4], positive(4, 6)),
        floatTensor('shift', [1, 4, 1, 1], randomWeights(4, 7)),
      ],
    }),
  );
}

// The folded model computes what the original does (run unoptimized).
async function expectSameOutputs(original, folded, feeds) {
  const a = await runOnnx(ORT, encode(original), feeds, { graphOptimizationLevel: 'disabled' });
  const b = await runOnnx(ORT, encode(folded), feeds, { graphOptimizationLevel: 'disabled' });
  for (const name of Object.keys(a)) {
    const scale = Math.max(...a[name].map(Math.abs));
    expect(closeness(a[name], b[name]).maxAbs / scale, name).toBeLessThan(1e-5);
  }
}

describe('foldIntoConvs', () => {
  it('folds a norm, a scalar Mul and a per-channel Add into a Conv without a bias, and drops their constants', async () => {
    const m = convChain();
    const before = decode(encode(m));
    expect(await foldIntoConvs(m, new Map(), 'chain.onnx')).toEqual({ BatchNormalization: 1, Mul: 1, Add: 1 });
    expect(ops(m)).toEqual(['Conv', 'Relu']);
    const conv = m.graph.node[0];
    expect(conv.input).toEqual(['x', 'W', 'W_bias']);
    expect(conv.output).toEqual(['a']);
    expect(m.graph.initializer.map((t) => t.name).sort()).toEqual(['W', 'W_bias']);
    await expectSameOutputs(before, m, image([1, 3, 8, 8]));
  });

  it('folds into a ConvTranspose with a bias, along its output-channel axis (1), and reads external weights', async () => {
    const m = model(
      graph({
        nodes: [node('ConvTranspose', ['x', 'W', 'b'], ['c'], { strides: [2, 2] }), node('Mul', ['c', 'scale'], ['y'])],
        inputs: [valueInfo('x', [1, 3, 5, 5])],
        outputs: [valueInfo('y', [1, 6, 10, 10])],
        initializers: [
          floatTensor('W', [3, 6, 2, 2], randomWeights(72, 8)),
          floatTensor('b', [6], randomWeights(6, 9)),
          floatTensor('scale', [6, 1, 1], randomWeights(6, 10)),
        ],
      }),
    );
    const before = decode(encode(m));
    const data = externalize(m, 'w.data', 200);
    expect(m.graph.initializer[0].dataLocation).toBe(1);
    const set = new Map([['w.data', { name: 'w.data', size: data.length, bytes: async () => data, slice: async (o, n) => data.subarray(o, o + n) }]]);
    expect(await foldIntoConvs(m, set, 'ct.onnx')).toEqual({ BatchNormalization: 0, Mul: 1, Add: 0 });
    // The folded weight is held in the model now.
    expect(m.graph.initializer.find((t) => t.name === 'W')).toMatchObject({ dataLocation: 0, externalData: [] });
    await expectSameOutputs(before, m, image([1, 3, 5, 5]));
  });

  const unfoldable = {
    'the Conv output is also a graph output': (m) => m.graph.output.push(valueInfo('c', [1, 4, 8, 8])),
    'the Conv output has another reader': (m) => m.graph.node.push(node('Relu', ['c'], ['r'])),
    'the Mul broadcasts along the last axis, not per channel': (m) => {
      m.graph.node[1] = node('Mul', ['c', 'row'], ['n']);
      m.graph.initializer.push(floatTensor('row', [8], randomWeights(8, 11)));
    },
    'the Mul reads an input, not a constant': (m) => {
      m.graph.node[1] = node('Mul', ['c', 'z'], ['n']);
      m.graph.input.push(valueInfo('z', [1, 4, 8, 8]));
    },
    'the weight is read by another Conv too': (m) => {
      m.graph.node.push(node('Conv', ['x', 'W'], ['c2'], { pads: [1, 1, 1, 1] }));
      m.graph.output.push(valueInfo('c2', [1, 4, 8, 8]));
    },
    'the norm is in training mode': (m) => m.graph.node[1].attribute.push(attr('training_mode', 1)),
    'the weight is float16': (m) => {
      m.graph.initializer[0] = floatTensor('W', [4, 3, 3, 3], randomWeights(108, 2), { dtype: 'float16' });
    },
  };
  for (const [why, change] of Object.entries(unfoldable)) {
    it(`leaves the model as it is when ${why}`, async () => {
      const m = convChain();
      m.graph.node = [m.graph.node[0], m.graph.node[1], node('Relu', ['n'], ['y'])];
      change(m);
      const before = encode(m);
      expect(await foldIntoConvs(m, new Map(), 'm.onnx')).toEqual({ BatchNormalization: 0, Mul: 0, Add: 0 });
      expect(encode(m)).toEqual(before);
    });
  }

  it('leaves a grouped ConvTranspose as it is', async () => {
    const m = model(
      graph({
        nodes: [node('ConvTranspose', ['x', 'W'], ['c'], { group: 2 }), node('Add', ['c', 'b'], ['y'])],
        inputs: [valueInfo('x', [1, 4, 5, 5])],
        outputs: [valueInfo('y', [1, 6, 6, 6])],
        initializers: [floatTensor('W', [4, 3, 2, 2], randomWeights(48, 12)), floatTensor('b', [1, 6, 1, 1], randomWeights(6, 13))],
      }),
    );
    expect(await foldIntoConvs(m, new Map(), 'g.onnx')).toEqual({ BatchNormalization: 0, Mul: 0, Add: 0 });
    expect(ops(m)).toEqual(['ConvTranspose', 'Add']);
  });
});

describe('calibrateModel: fold, and biases', () => {
  let wq;
  beforeAll(async () => {
    wq = await createQuantizer();
  });
  const feeds = [1, 2, 3].map((seed) => image([1, 3, 8, 8], seed));

  it('folds by default, says so, and the QDQ model has no float op left; fold: false keeps the norm', async () => {
    const bytes = encode(convChain());
    const result = await calibrateModel({ 'chain.onnx': bytes }, feeds, { ort: ORT, quantizer: wq });
    expect(result.folded).toEqual({ BatchNormalization: 1, Mul: 1, Add: 1 });
    expect(result.notes.join('\n')).toMatch(/folded 1 BatchNormalization, 1 Mul, 1 Add into the Conv before each/);
    const written = decode(result.files['chain.onnx']);
    expect(ops(written).filter((op) => !/QuantizeLinear|DequantizeLinear/.test(op))).toEqual(['Conv', 'Relu']);
    expect(result.activations.map((a) => a.name)).toEqual(['x', 'a', 'y']);
    const float = await runOnnx(ORT, bytes, feeds[0]);
    const quantized = await runOnnx(ORT, result.files['chain.onnx'], feeds[0]);
    expect(closeness(float.y, quantized.y).cosine).toBeGreaterThan(0.999);

    const kept = await calibrateModel({ 'chain.onnx': bytes }, feeds, { ort: ORT, quantizer: wq, fold: false, report: false });
    expect(kept.folded).toEqual({ BatchNormalization: 0, Mul: 0, Add: 0 });
    expect(ops(decode(kept.files['chain.onnx']))).toContain('BatchNormalization');
    await expect(calibrateModel({ 'chain.onnx': bytes }, feeds, { ort: ORT, fold: 'no' })).rejects.toThrow(/options\.fold must be a boolean/);
  });

  it('calibrates a model with external data, folded, and writes it with its data file, which onnxruntime loads from disk', async () => {
    // The chain, then a 1×1 Conv whose weight stays in the data file.
    const chained = () => {
      const m = convChain();
      m.graph.node.push(node('Conv', ['y', 'W2'], ['z']));
      m.graph.output = [valueInfo('z', [1, 5, 8, 8])];
      m.graph.initializer.push(floatTensor('W2', [5, 4, 1, 1], randomWeights(20, 9)));
      return m;
    };
    const m = chained();
    const data = externalize(m, 'chain.onnx.data', 64);
    expect(m.graph.initializer.filter((t) => t.dataLocation === 1).map((t) => t.name)).toEqual(['W', 'W2']);
    const files = { 'chain.onnx': encode(m), 'chain.onnx.data': data };
    const result = await calibrateModel(files, feeds, { ort: ORT, quantizer: wq, report: false });
    expect(result.folded.BatchNormalization).toBe(1);
    expect(Object.keys(result.files).sort()).toEqual(['chain.onnx', 'chain.onnx.data']);
    const dir = mkdtempSync(join(tmpdir(), 'wasmquant-fold-'));
    try {
      for (const [name, bytes] of Object.entries(result.files)) writeFileSync(join(dir, name), bytes);
      const session = await ORT.InferenceSession.create(join(dir, 'chain.onnx'));
      const x = feeds[0].x;
      const quantized = (await session.run({ x: new ORT.Tensor('float32', x.data, x.dims) })).z.data;
      await session.release?.();
      const float = await runOnnx(ORT, encode(chained()), feeds[0]);
      expect(closeness(float.z, quantized).cosine).toBeGreaterThan(0.999);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // (It once never returned: the bias rewrite went over the node list while
  // putting each initializer's DequantizeLinear at its front.)
  it("writes a Gemm's initializer bias as int32 codes", async () => {
    const bytes = encode(mlp());
    const list = [1, 2].map((seed) => ({ x: { dims: [1, 64], data: randomWeights(64, seed) } }));
    const result = await calibrateModel({ 'mlp.onnx': bytes }, list, { ort: ORT, quantizer: wq, report: false });
    const written = decode(result.files['mlp.onnx']);
    const bias = written.graph.initializer.find((t) => t.name === 'b2_quantized');
    expect(bias?.dataType).toBe(6);
    expect(written.graph.node.find((n) => n.output[0] === 'b2').input).toEqual(['b2_quantized', 'b2_scale']);
  });
});
