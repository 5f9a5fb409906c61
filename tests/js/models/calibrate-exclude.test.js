// calibrateModel's excludeNodes on a generated model, x → MatMul → Mul (by
// a constant) → Add (of a constant) → MatMul → y: an excluded node's outputs
// get no Q/DQ pair and the weights only it reads stay float, so onnxruntime
// runs it in float where it fuses it otherwise; every form of pattern; an
// excluded node is not folded; a bad pattern and a pattern that matches
// nothing.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import { beforeAll, describe, expect, it } from 'vitest';
import { createQuantizer } from '../../../web/index.js';
import { calibrateModel } from '../../../web/models/index.js';
import { ModelProtoSchema } from '../../../web/models/onnx/onnx_pb.js';
import { encode, floatTensor, graph, model, node, randomWeights, valueInfo } from './onnx-builder.js';
import { RUNTIMES, closeness, runOnnx } from './runtimes.js';

const ORT = RUNTIMES['onnxruntime-node'];
const FILE = 'chain.onnx';
const bytes = encode(
  model(
    graph({
      nodes: [node('MatMul', ['x', 'W1'], ['h']), node('Mul', ['h', 'k'], ['s']), node('Add', ['s', 'b'], ['t']), node('MatMul', ['t', 'W2'], ['y'])],
      inputs: [valueInfo('x', [1, 32])],
      outputs: [valueInfo('y', [1, 16])],
      initializers: [
        floatTensor('W1', [32, 24], randomWeights(768, 1)),
        floatTensor('k', [24], randomWeights(24, 2)),
        floatTensor('b', [24], randomWeights(24, 3)),
        floatTensor('W2', [24, 16], randomWeights(384, 4)),
      ],
    }),
  ),
);
const feeds = [1, 2, 3].map((seed) => ({ x: { dims: [1, 32], data: randomWeights(32, seed + 10) } }));

// The op types of onnxruntime's optimized graph of a model.
async function optimizedOps(modelBytes) {
  const dir = mkdtempSync(join(tmpdir(), 'wasmquant-exclude-'));
  try {
    const path = join(dir, 'optimized.onnx');
    await (await ORT.InferenceSession.create(modelBytes, { graphOptimizationLevel: 'extended', optimizedModelFilePath: path })).release?.();
    return fromBinary(ModelProtoSchema, readFileSync(path)).graph.node.map((n) => n.opType);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let wq;
beforeAll(async () => {
  wq = await createQuantizer();
});
const calibrate = (options) => calibrateModel({ [FILE]: bytes }, feeds, { ort: ORT, quantizer: wq, report: false, ...options });
const action = (result, name) => result.tensors.find((t) => t.name === name);

describe('calibrateModel: excludeNodes', () => {
  it('an excluded Mul runs in float: its output has no pair, its constant stays float; the rest is as without it', async () => {
    const all = await calibrate({});
    expect(all.activations.map((a) => a.name)).toEqual(['x', 'h', 's', 't', 'y']);
    expect(await optimizedOps(all.files[FILE])).toContain('QLinearMul');

    const result = await calibrate({ excludeNodes: 'Mul_s' });
    expect(result.activations.map((a) => a.name)).toEqual(['x', 'h', 't', 'y']);
    for (const { name, encoding } of result.activations) expect(encoding, name).toEqual(all.activations.find((a) => a.name === name).encoding);
    expect(action(result, 'k')).toMatchObject({ action: 'keep', reason: 'read by excluded nodes only' });
    expect(action(result, 'b').action).toBe('quantize');
    expect(result.notes).toContain('excludeNodes: 1 node stays float (Mul_s)');
    expect(Object.keys(result.encodings.activation_encodings)).not.toContain('s');
    expect(Object.keys(result.encodings.param_encodings)).not.toContain('k');
    const ops = await optimizedOps(result.files[FILE]);
    expect(ops).toContain('Mul');
    expect(ops).not.toContain('QLinearMul');
    // The MatMul before it still runs in integers; the model is still close to the float one.
    expect(ops).toContain('QLinearMatMul');
    const float = await runOnnx(ORT, bytes, feeds[0]);
    const quantized = await runOnnx(ORT, result.files[FILE], feeds[0]);
    expect(closeness(float.y, quantized.y).cosine).toBeGreaterThan(0.999);
  });

  it('takes a RegExp, a predicate on the node and a list of them', async () => {
    const names = async (excludeNodes) => (await calibrate({ excludeNodes })).activations.map((a) => a.name);
    expect(await names(/^Add_/)).toEqual(['x', 'h', 's', 'y']);
    const seen = [];
    const predicate = (n) => {
      seen.push(n);
      return n.opType === 'Add';
    };
    expect(await names(predicate)).toEqual(['x', 'h', 's', 'y']);
    expect(seen.find((n) => n.opType === 'Mul')).toEqual({ name: 'Mul_s', opType: 'Mul', domain: '', inputs: ['h', 'k'], outputs: ['s'] });
    expect(await names(['Mul_*', (n) => n.outputs.includes('t')])).toEqual(['x', 'h', 'y']);
  });

  it('an excluded node is not folded into the Conv before it', async () => {
    const conv = encode(
      model(
        graph({
          nodes: [node('Conv', ['x', 'W'], ['c']), node('Mul', ['c', 'k'], ['m']), node('Relu', ['m'], ['y'])],
          inputs: [valueInfo('x', [1, 2, 6, 6])],
          outputs: [valueInfo('y', [1, 3, 4, 4])],
          initializers: [floatTensor('W', [3, 2, 3, 3], randomWeights(54, 5)), floatTensor('k', [1, 3, 1, 1], randomWeights(3, 6))],
        }),
      ),
    );
    const images = [1, 2].map((seed) => ({ x: { dims: [1, 2, 6, 6], data: randomWeights(72, seed) } }));
    const run = (options) => calibrateModel({ 'conv.onnx': conv }, images, { ort: ORT, quantizer: wq, report: false, ...options });
    expect((await run({})).folded.Mul).toBe(1);
    const kept = await run({ excludeNodes: 'Mul_m' });
    expect(kept.folded.Mul).toBe(0);
    expect(kept.activations.map((a) => a.name)).toEqual(['x', 'c', 'y']);
  });

  it('an op that only moves values stays quantized unless what it reads is float too', async () => {
    const moved = encode(
      model(
        graph({
          nodes: [node('Mul', ['x', 'k'], ['m']), node('Transpose', ['m'], ['tr'], { perm: [0, 2, 1] }), node('MatMul', ['tr', 'W'], ['y'])],
          inputs: [valueInfo('x', [1, 4, 8])],
          outputs: [valueInfo('y', [1, 8, 5])],
          initializers: [floatTensor('k', [8], randomWeights(8, 7)), floatTensor('W', [4, 5], randomWeights(20, 8))],
        }),
      ),
    );
    const list = [1, 2].map((seed) => ({ x: { dims: [1, 4, 8], data: randomWeights(32, seed) } }));
    const run = (excludeNodes) => calibrateModel({ 'moved.onnx': moved }, list, { ort: ORT, quantizer: wq, report: false, excludeNodes });
    const alone = await run('Transpose_tr');
    expect(alone.activations.map((a) => a.name)).toEqual(['x', 'm', 'tr', 'y']);
    expect(alone.notes).toContain(
      'excludeNodes: 1 matched ops that only move quantized values, left quantized: onnxruntime runs them on the codes anyway (Transpose_tr)',
    );
    const both = await run(['Transpose_tr', 'Mul_m']);
    expect(both.activations.map((a) => a.name)).toEqual(['y']);
    expect(both.notes).toContain('excludeNodes: 2 nodes stay float (Mul_m, Transpose_tr)');
  });

  it('says when the pattern matched nothing, and rejects what is not a pattern', async () => {
    expect((await calibrate({ excludeNodes: 'LayerNorm*' })).notes).toContain('excludeNodes matched no node');
    await expect(calibrate({ excludeNodes: 42 })).rejects.toThrow(
      /options\.excludeNodes must be a name pattern \(string with \* and \?\), a RegExp, a function \(node\) => boolean or an array of them, got/,
    );
    await expect(calibrate({ excludeNodes: ['Mul_s', {}] })).rejects.toThrow(/options\.excludeNodes\[1\] must be a name pattern/);
  });
});
