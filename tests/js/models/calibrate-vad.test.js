// calibrateModel on a model whose every op is inside If branches: Silero
// VAD (legacy, from @ricky0123/vad-web), which picks a 16 kHz or an 8 kHz
// network by its `sr` input and runs LSTMs in nested Ifs. The activations
// of the branch the inputs take are calibrated through the If's outputs
// and get their Q/DQ pairs inside the branch, where onnxruntime fuses them;
// the branch never taken is left as it is. Feeds carry the LSTM state from
// frame to frame, as the model is used.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import { beforeAll, describe, expect, it } from 'vitest';
import { createQuantizer } from '../../../web/index.js';
import { calibrateModel } from '../../../web/models/index.js';
import { allGraphs } from '../../../web/models/onnx/graph.js';
import { ModelProtoSchema } from '../../../web/models/onnx/onnx_pb.js';
import { expectRangesHeld, fusedActivations } from './rules.js';
import { RUNTIMES, VAD, audioFrames, readModel, runVad, vadProbabilities } from './runtimes.js';

const FILE = 'silero_vad_legacy.onnx';
const ORT = RUNTIMES['onnxruntime-node'];
let wq;
let bytes;
let model;
let feeds;
let result;

const branch = (m, key) => m.graph.node.find((n) => n.opType === 'If').attribute.find((a) => a.name === key).g;
const produced = (g) => new Set(allGraphs(g).flatMap(({ graph }) => graph.node.flatMap((n) => n.output)));
const opsIn = (g) => allGraphs(g).flatMap(({ graph }) => graph.node.map((n) => n.opType));

beforeAll(async () => {
  wq = await createQuantizer();
  bytes = readModel(`${VAD}/${FILE}`);
  model = fromBinary(ModelProtoSchema, bytes);
  // One feed per frame at 16 kHz, each with the state the float model left.
  feeds = (await runVad(ORT, bytes, audioFrames(40, 3))).feeds;
  result = await calibrateModel({ [FILE]: bytes }, feeds, { ort: ORT, quantizer: wq });
});

describe(`calibrateModel: ${FILE}, all in If branches`, () => {
  it("calibrates the 16 kHz branch's activations (nested Ifs too), none of the 8 kHz one's; the encodings name them", () => {
    // The main graph has only an Equal and the If.
    expect(model.graph.node.map((n) => n.opType)).toEqual(['Equal', 'If']);
    const sixteen = produced(branch(model, 'then_branch'));
    const eight = produced(branch(model, 'else_branch'));
    const names = result.activations.map((a) => a.name);
    expect(names.length).toBeGreaterThan(60);
    // The model's float inputs too, which the branch reads (their pairs go in the main graph).
    expect(names.filter((n) => !sixteen.has(n)).sort()).toEqual(['c', 'h', 'input']);
    expect(names.filter((n) => eight.has(n))).toEqual([]);
    // Some in the LSTMs' nested If (its Slices of the state given).
    const lstm = branch(model, 'then_branch').node.find((n) => n.name === 'If_177');
    const nested = new Set(lstm.attribute.flatMap((a) => [...produced(a.g)]));
    expect(names.filter((n) => nested.has(n)).length).toBeGreaterThan(0);
    // (Sorted: an object lists integer-like keys such as '145' first.)
    expect(Object.keys(result.encodings.activation_encodings).sort()).toEqual([...names].sort());
    const fused = fusedActivations(model);
    expectRangesHeld(result.activations, fused, (sqnrDb, name) => expect(Number.isFinite(sqnrDb) || sqnrDb === Infinity, name).toBe(true));
  });

  it('puts the pairs inside the branch, where onnxruntime fuses every 16 kHz Conv into QLinearConv; both runtimes run it', async () => {
    const written = fromBinary(ModelProtoSchema, result.files[FILE]);
    expect(written.graph.node.map((n) => n.opType).filter((op) => !/QuantizeLinear|DequantizeLinear/.test(op))).toEqual(['Equal', 'If']);
    const convs = opsIn(branch(model, 'then_branch')).filter((op) => op === 'Conv').length;
    expect(convs).toBe(18);
    expect(opsIn(branch(written, 'then_branch'))).toContain('QuantizeLinear');
    expect(opsIn(branch(written, 'else_branch'))).not.toContain('QuantizeLinear');
    const dir = mkdtempSync(join(tmpdir(), 'wasmquant-vad-'));
    try {
      const path = join(dir, 'optimized.onnx');
      await (await ORT.InferenceSession.create(result.files[FILE], { graphOptimizationLevel: 'extended', optimizedModelFilePath: path })).release?.();
      const optimized = fromBinary(ModelProtoSchema, readFileSync(path));
      expect(opsIn(branch(optimized, 'then_branch')).filter((op) => op === 'QLinearConv')).toHaveLength(convs);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const held = audioFrames(6, 9);
    for (const [runtime, ort] of Object.entries(RUNTIMES)) {
      const p = await vadProbabilities(ort, result.files[FILE], held);
      expect(
        p.every((v) => v >= 0 && v <= 1),
        runtime,
      ).toBe(true);
    }
  });

  // The feature extractor (the STFT Conv, its powers, the magnitude and its
  // Log) spans five decades, which no linear scale holds (even 16-bit codes
  // move the probabilities by 0.2 through it); kept float, 16-bit
  // activations elsewhere give the float model back on held-out frames.
  it('16-bit, with the feature extractor kept float: held-out probabilities within 0.05 in both runtimes', async () => {
    const extractor = (n) =>
      /^Conv_(73|547)$/.test(n.name) || /^(forward_transform|188|182|191|193|194|magnitude|197|198|199)(\.\d+)?$/.test(n.outputs[0]);
    const r16 = await calibrateModel({ [FILE]: bytes }, feeds, { ort: ORT, quantizer: wq, bitwidth: 16, report: false, excludeNodes: extractor });
    expect(r16.notes.join('\n')).toMatch(/excludeNodes: 11 nodes stay float/);
    const held = audioFrames(20, 9);
    const float = await vadProbabilities(ORT, bytes, held);
    for (const [runtime, ort] of Object.entries(RUNTIMES)) {
      const q = await vadProbabilities(ort, r16.files[FILE], held);
      // 0.026 when this was written (onnxruntime-node).
      for (let i = 0; i < held.length; i += 1) expect(Math.abs(q[i] - float[i]), `${runtime} frame ${i}`).toBeLessThan(0.05);
    }
  });
});
