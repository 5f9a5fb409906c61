// Generated ONNX models for what the shipped ones lack: If branches with
// initializers and Constant nodes, external data in and out, float16
// weights, LSTM, Gemm/ConvTranspose axes, IR 3 models that list their
// initializers as inputs, and the options (rules, keep, progress, abort).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQuantizer } from '../../../web/index.js';
import { fromAimetEncodings } from '../../../web/formats/aimet.js';
import { inspectModel, quantizeModel } from '../../../web/models/index.js';
import { ModelProtoSchema } from '../../../web/models/onnx/onnx_pb.js';
import { T, encode, externalize, floatTensor, graph, mlp, model, node, randomWeights, valueInfo } from './onnx-builder.js';
import { RUNTIMES, closeness, runOnnx } from './runtimes.js';

let wq;
let dir;
beforeAll(async () => {
  wq = await createQuantizer();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wasmquant-models-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const ORT = RUNTIMES['onnxruntime-node'];
const input = (K, seed = 0) => Float32Array.from({ length: K }, (_, i) => Math.sin(i * 0.7 + seed));
const decode = (bytes) => fromBinary(ModelProtoSchema, bytes);
const ops = (g) => g.node.map((n) => n.opType);

// Outputs of the float and the quantized model on the same feeds, in both
// runtimes; the quantized ones must be close (8-bit weights of values in
// [-1, 1): a relative error well under 2 %).
async function expectCloseOutputs(floatBytes, quantBytes, feeds, { cosine = 0.999 } = {}) {
  const float = await runOnnx(ORT, floatBytes, feeds);
  for (const [runtime, ort] of Object.entries(RUNTIMES)) {
    const q = await runOnnx(ort, quantBytes, feeds);
    for (const name of Object.keys(float)) {
      expect(closeness(float[name], q[name]).cosine, `${runtime} ${name}`).toBeGreaterThan(cosine);
    }
  }
}

function ifModel() {
  const K = 64;
  const N = 32;
  const thenBranch = graph({
    name: 'then',
    nodes: [node('MatMul', ['x', 'Wthen'], ['ythen'])],
    inputs: [],
    outputs: [valueInfo('ythen', [1, N])],
    initializers: [floatTensor('Wthen', [K, N], randomWeights(K * N, 21))],
  });
  const elseBranch = graph({
    name: 'else',
    nodes: [node('Constant', [], ['Welse'], { value: floatTensor('', [K, N], randomWeights(K * N, 22)) }), node('MatMul', ['x', 'Welse'], ['yelse'])],
    inputs: [],
    outputs: [valueInfo('yelse', [1, N])],
  });
  return model(
    graph({
      nodes: [node('If', ['cond'], ['y'], { then_branch: thenBranch, else_branch: elseBranch })],
      inputs: [valueInfo('cond', [], T.BOOL), valueInfo('x', [1, K])],
      outputs: [valueInfo('y', [1, N])],
    }),
  );
}

describe('subgraphs', () => {
  it('quantizes an initializer of an If branch and a Constant node of the other, each in its own graph', async () => {
    const bytes = encode(ifModel());
    const result = await quantizeModel({ 'if.onnx': bytes }, { quantizer: wq });
    expect(result.tensors.map((t) => [t.name, t.op, t.action, t.axis])).toEqual([
      ['Wthen', 'MatMul', 'quantize', 1],
      ['Welse', 'MatMul', 'quantize', 1],
    ]);
    const out = decode(result.files['if.onnx']);
    const [thenG, elseG] = out.graph.node[0].attribute.map((a) => a.g);
    expect(ops(thenG)).toEqual(['DequantizeLinear', 'MatMul']);
    expect(ops(elseG)).toEqual(['DequantizeLinear', 'MatMul']);
    expect(thenG.initializer.map((t) => t.name)).toEqual(['Wthen_quantized', 'Wthen_scale', 'Wthen_zero_point']);
    for (const cond of [true, false]) {
      const feeds = { cond: { type: 'bool', dims: [], data: Uint8Array.of(cond ? 1 : 0) }, x: { dims: [1, 64], data: input(64) } };
      await expectCloseOutputs(bytes, result.files['if.onnx'], feeds);
    }
  });
});

describe('Loop bodies', () => {
  it('quantizes a weight that lives in a Loop body and runs three iterations', async () => {
    const D = 48;
    const body = graph({
      name: 'body',
      nodes: [node('Identity', ['cond_in'], ['cond_out']), node('MatMul', ['v', 'Wloop'], ['mv']), node('Tanh', ['mv'], ['v_out'])],
      inputs: [valueInfo('iter', [], T.INT64), valueInfo('cond_in', [], T.BOOL), valueInfo('v', [1, D])],
      outputs: [valueInfo('cond_out', [], T.BOOL), valueInfo('v_out', [1, D])],
      initializers: [
        floatTensor(
          'Wloop',
          [D, D],
          randomWeights(D * D, 51).map((v) => v * 0.4),
        ),
      ],
    });
    const bytes = encode(
      model(
        graph({
          nodes: [node('Loop', ['trips', 'go', 'x'], ['y'], { body })],
          inputs: [valueInfo('trips', [], T.INT64), valueInfo('go', [], T.BOOL), valueInfo('x', [1, D])],
          outputs: [valueInfo('y', [1, D])],
        }),
      ),
    );
    const result = await quantizeModel({ 'loop.onnx': bytes }, { quantizer: wq });
    expect(result.tensors.map((t) => [t.name, t.op, t.action])).toEqual([['Wloop', 'MatMul', 'quantize']]);
    const feeds = {
      trips: { type: 'int64', dims: [], data: BigInt64Array.of(3n) },
      go: { type: 'bool', dims: [], data: Uint8Array.of(1) },
      x: { dims: [1, D], data: input(D) },
    };
    await expectCloseOutputs(bytes, result.files['loop.onnx'], feeds);
  });
});

describe('external data', () => {
  function externalMlp() {
    const m = mlp({ K: 96, N: 64, M: 48 });
    const data = externalize(m, 'mlp.onnx.data');
    return { bytes: encode(m), data };
  }
  const feeds = { x: { dims: [1, 96], data: input(96) } };

  it('reads external weights and writes the quantized ones to an external file of the same name, which onnxruntime loads from disk', async () => {
    const { bytes, data } = externalMlp();
    const result = await quantizeModel({ 'mlp.onnx': bytes, 'mlp.onnx.data': new Blob([data]) }, { quantizer: wq });
    expect(Object.keys(result.files).sort()).toEqual(['mlp.onnx', 'mlp.onnx.data']);
    expect(result.files['mlp.onnx.data'].length).toBeLessThan(data.length * 0.3);
    const out = decode(result.files['mlp.onnx']);
    const external = out.graph.initializer.filter((t) => t.dataLocation === 1);
    expect(external.map((t) => t.name).sort()).toEqual(['W1_quantized', 'W2_quantized']);
    const sub = fs.mkdtempSync(path.join(dir, 'ext-'));
    fs.writeFileSync(path.join(sub, 'mlp.onnx.data'), data);
    fs.writeFileSync(path.join(sub, 'float.onnx'), bytes);
    const floatOut = await runOnnx(ORT, path.join(sub, 'float.onnx'), feeds);
    fs.writeFileSync(path.join(sub, 'mlp.onnx'), result.files['mlp.onnx']);
    fs.writeFileSync(path.join(sub, 'mlp.onnx.data'), result.files['mlp.onnx.data']);
    const q = await runOnnx(ORT, path.join(sub, 'mlp.onnx'), feeds);
    expect(closeness(floatOut.y, q.y).cosine).toBeGreaterThan(0.999);
  });

  it("externalData: false inlines everything; true moves an inline model's tensors out", async () => {
    const { bytes, data } = externalMlp();
    const inlined = await quantizeModel({ 'mlp.onnx': bytes, 'mlp.onnx.data': data }, { quantizer: wq, externalData: false });
    expect(Object.keys(inlined.files)).toEqual(['mlp.onnx']);
    const plain = encode(mlp({ K: 96, N: 64, M: 48 }));
    await expectCloseOutputs(plain, inlined.files['mlp.onnx'], feeds);
    const moved = await quantizeModel({ 'mlp.onnx': plain }, { quantizer: wq, externalData: true });
    expect(Object.keys(moved.files).sort()).toEqual(['mlp.onnx', 'mlp.onnx.data']);
  });

  it('names the missing or short external file and the tensor', async () => {
    const { bytes, data } = externalMlp();
    await expect(quantizeModel({ 'mlp.onnx': bytes }, { quantizer: wq })).rejects.toThrow(/"mlp\.onnx\.data".*not given|W1.*mlp\.onnx\.data/);
    await expect(quantizeModel({ 'mlp.onnx': bytes, 'mlp.onnx.data': data.subarray(0, 100) }, { quantizer: wq })).rejects.toThrow(
      /tensor "W1".*mlp\.onnx\.data has 100 bytes/,
    );
  });
});

describe('float16 weights', () => {
  it('dequantizes to float32 and casts back, so a float16 model keeps its types and runs', async () => {
    const bytes = encode(mlp({ dtype: 'float16' }));
    const result = await quantizeModel({ 'h.onnx': bytes }, { quantizer: wq });
    expect(result.tensors.filter((t) => t.action === 'quantize').map((t) => t.dtype)).toEqual(['float16', 'float16']);
    expect(ops(decode(result.files['h.onnx']).graph)).toEqual(['DequantizeLinear', 'Cast', 'DequantizeLinear', 'Cast', 'MatMul', 'Gemm']);
    const x = Uint16Array.from({ length: 64 }, (_, i) => 0x3800 + (i % 7) * 64); // halves in [0.5, 0.6)
    const feeds = { x: { type: 'float16', dims: [1, 64], data: x } };
    const float = await runOnnx(ORT, bytes, feeds);
    const q = await runOnnx(ORT, result.files['h.onnx'], feeds);
    const toF32 = (h) => {
      const v = new Float32Array(h.length);
      for (let i = 0; i < h.length; i += 1) v[i] = ((h[i] & 0x3ff) / 1024 + 1) * 2 ** (((h[i] >> 10) & 0x1f) - 15) * (h[i] & 0x8000 ? -1 : 1);
      return v;
    };
    expect(closeness(toF32(float.y), toF32(q.y)).cosine).toBeGreaterThan(0.999);
  });
});

describe('typed fields', () => {
  it('reads float_data and float16 in int32_data like raw_data', async () => {
    const raw = mlp();
    const typed = mlp();
    const [w1, w2] = typed.graph.initializer;
    typed.graph.initializer[0] = floatTensor('W1', [64, 48], new Float32Array(w1.rawData.slice().buffer), { field: 'typed' });
    const halves = mlp({ dtype: 'float16' });
    const h2 = halves.graph.initializer[1];
    typed.graph.initializer[1] = Object.assign(floatTensor('W2', [48, 40], [], { dtype: 'float16', field: 'typed' }), {
      int32Data: Array.from(new Uint16Array(h2.rawData.slice().buffer)),
    });
    expect(w2.name).toBe('W2');
    const fromRaw = await inspectModel({ 'raw.onnx': encode(raw) }, { quantizer: wq });
    const fromTyped = await inspectModel({ 't.onnx': encode(typed) }, { quantizer: wq });
    const fromHalves = await inspectModel({ 'h.onnx': encode(halves) }, { quantizer: wq });
    expect(fromTyped.tensors[0].sqnrDb).toBe(fromRaw.tensors[0].sqnrDb);
    expect(fromTyped.tensors[1]).toMatchObject({ dtype: 'float16', sqnrDb: fromHalves.tensors[1].sqnrDb });
  });
});

describe('op families', () => {
  it('LSTM W and R per tensor, its bias kept; outputs close', async () => {
    const [I, H] = [40, 32];
    const bytes = encode(
      model(
        graph({
          nodes: [node('LSTM', ['x', 'W', 'R', 'B'], ['y'], { hidden_size: H })],
          inputs: [valueInfo('x', [5, 1, I])],
          outputs: [valueInfo('y', [5, 1, 1, H])],
          initializers: [
            floatTensor(
              'W',
              [1, 4 * H, I],
              randomWeights(4 * H * I, 31).map((v) => v * 0.3),
            ),
            floatTensor(
              'R',
              [1, 4 * H, H],
              randomWeights(4 * H * H, 32).map((v) => v * 0.3),
            ),
            floatTensor('B', [1, 8 * H], randomWeights(8 * H, 33)),
          ],
        }),
      ),
    );
    const result = await quantizeModel({ 'lstm.onnx': bytes }, { quantizer: wq });
    expect(result.tensors.map((t) => [t.name, t.action, t.axis ?? null])).toEqual([
      ['W', 'quantize', null],
      ['R', 'quantize', null],
      ['B', 'keep', null],
    ]);
    await expectCloseOutputs(bytes, result.files['lstm.onnx'], { x: { dims: [5, 1, I], data: input(5 * I) } });
  });

  it("an RNN's W and R are quantized too", async () => {
    const [I, H] = [40, 32];
    const bytes = encode(
      model(
        graph({
          nodes: [node('RNN', ['x', 'W', 'R'], ['y'], { hidden_size: H })],
          inputs: [valueInfo('x', [5, 1, I])],
          outputs: [valueInfo('y', [5, 1, 1, H])],
          initializers: [
            floatTensor(
              'W',
              [1, H, I],
              randomWeights(H * I, 34).map((v) => v * 0.3),
            ),
            floatTensor(
              'R',
              [1, H, H],
              randomWeights(H * H, 35).map((v) => v * 0.3),
            ),
          ],
        }),
      ),
    );
    const result = await quantizeModel({ 'rnn.onnx': bytes }, { quantizer: wq, minElements: 1000 });
    expect(result.tensors.map((t) => [t.name, t.op, t.action])).toEqual([
      ['W', 'RNN', 'quantize'],
      ['R', 'RNN', 'quantize'],
    ]);
    await expectCloseOutputs(bytes, result.files['rnn.onnx'], { x: { dims: [5, 1, I], data: input(5 * I) } });
  });

  it('channel axes follow the op: Gemm transB → 0, ConvTranspose → 1, Conv → 0', async () => {
    const bytes = encode(
      model(
        graph({
          nodes: [
            node('Conv', ['x', 'Wc'], ['c']),
            node('ConvTranspose', ['c', 'Wt'], ['t']),
            node('Flatten', ['t'], ['f']),
            node('Gemm', ['f', 'Wg'], ['y'], { transB: 1 }),
          ],
          inputs: [valueInfo('x', [1, 8, 6, 6])],
          outputs: [valueInfo('y', [1, 10])],
          initializers: [
            floatTensor('Wc', [16, 8, 3, 3], randomWeights(16 * 8 * 9, 41)),
            floatTensor('Wt', [16, 12, 3, 3], randomWeights(16 * 12 * 9, 42)),
            floatTensor('Wg', [10, 12 * 36], randomWeights(10 * 12 * 36, 43)),
          ],
        }),
      ),
    );
    const result = await quantizeModel({ 'c.onnx': bytes }, { quantizer: wq });
    expect(result.tensors.map((t) => [t.name, t.op, t.axis])).toEqual([
      ['Wc', 'Conv', 0],
      ['Wt', 'ConvTranspose', 1],
      ['Wg', 'Gemm', 0],
    ]);
    await expectCloseOutputs(bytes, result.files['c.onnx'], { x: { dims: [1, 8, 6, 6], data: input(8 * 36) } }, { cosine: 0.995 });
  });

  it('an IR 3 model that lists its initializers as graph inputs: they leave the inputs', async () => {
    const m = mlp();
    m.irVersion = 3n;
    m.graph.input.push(valueInfo('W1', [64, 48]), valueInfo('W2', [48, 40]), valueInfo('b2', [40]));
    const bytes = encode(m);
    const result = await quantizeModel({ 'ir3.onnx': bytes }, { quantizer: wq });
    expect(decode(result.files['ir3.onnx']).graph.input.map((v) => v.name)).toEqual(['x', 'b2']);
    await expectCloseOutputs(bytes, result.files['ir3.onnx'], { x: { dims: [1, 64], data: input(64) } });
  });

  it('a weight also read by another op stays float, named with both readers', async () => {
    const m = mlp();
    m.graph.node.push(node('Add', ['W1', 'W1'], ['w1x2']));
    m.graph.output.push(valueInfo('w1x2', [64, 48]));
    const report = await inspectModel({ 'shared.onnx': encode(m) }, { quantizer: wq });
    expect(report.tensors[0]).toMatchObject({ name: 'W1', op: 'MatMul+Add', action: 'keep' });
  });
});

describe('options', () => {
  const bytes = encode(mlp());

  it('keep, rules, minElements, ops and perChannel change what is done', async () => {
    const rows = async (options) =>
      (await inspectModel({ 'm.onnx': bytes }, { quantizer: wq, ...options })).tensors.map((t) => [t.name, t.action, t.bitwidth, t.axis]);
    expect(await rows({})).toEqual([
      ['W1', 'quantize', 8, 1],
      ['W2', 'quantize', 8, 1],
      ['b2', 'keep', undefined, undefined],
    ]);
    expect(await rows({ keep: 'W*1' })).toEqual([
      ['W1', 'keep', undefined, undefined],
      ['W2', 'quantize', 8, 1],
      ['b2', 'keep', undefined, undefined],
    ]);
    expect(await rows({ keep: [/^W2$/, (w) => w.op === 'MatMul'] })).toEqual([
      ['W1', 'keep', undefined, undefined],
      ['W2', 'keep', undefined, undefined],
      ['b2', 'keep', undefined, undefined],
    ]);
    expect(
      await rows({
        rules: [
          { match: 'W2', bitwidth: 16, perChannel: false },
          { match: 'b2', keep: false },
        ],
      }),
    ).toEqual([
      ['W1', 'quantize', 8, 1],
      ['W2', 'quantize', 16, null],
      ['b2', 'quantize', 8, null],
    ]);
    expect((await rows({ minElements: 3000 })).map((r) => r[1])).toEqual(['quantize', 'keep', 'keep']);
    expect((await rows({ ops: ['Gemm'] })).map((r) => r[1])).toEqual(['keep', 'quantize', 'keep']);
    expect((await rows({ perChannel: false })).map((r) => r[3])).toEqual([null, null, undefined]);
  });

  it('encodings: AIMET 0.6.1 by default (one entry per channel), 1.0.0 on request; both read back', async () => {
    const result = await quantizeModel({ 'm.onnx': bytes }, { quantizer: wq });
    const enc = result.encodings;
    expect(enc.version).toBe('0.6.1');
    expect(Object.keys(enc.param_encodings)).toEqual(['W1', 'W2']);
    expect(enc.param_encodings.W1).toHaveLength(48);
    expect(enc.param_encodings.W1[0]).toMatchObject({ bitwidth: 8, dtype: 'int', is_symmetric: 'False' });
    expect(fromAimetEncodings(enc).W2).toHaveLength(40);
    const v1 = (await quantizeModel({ 'm.onnx': bytes }, { quantizer: wq, encodingsVersion: '1.0.0' })).encodings;
    expect(v1.version).toBe('1.0.0');
    expect(v1.param_encodings.map((e) => [e.name, e.enc_type])).toEqual([
      ['W1', 'PER_CHANNEL'],
      ['W2', 'PER_CHANNEL'],
    ]);
  });

  it('encodings of block-wise weights: 1.0.0 PER_BLOCK entries; left out of 0.6.1, which has no block form, with a note', async () => {
    const options = { quantizer: wq, bitwidth: 4, blockSize: 16 };
    const legacy = await quantizeModel({ 'm.onnx': bytes }, options);
    const blocked = legacy.tensors.filter((t) => t.blockSize === 16);
    expect(blocked.length).toBeGreaterThan(0);
    for (const t of blocked) expect(legacy.encodings.param_encodings[t.name]).toBeUndefined();
    expect(legacy.notes.join('\n')).toMatch(new RegExp(`${blocked.length} block-wise weights are not in the AIMET 0\\.6\\.1 encodings`));
    const v1 = await quantizeModel({ 'm.onnx': bytes }, { ...options, encodingsVersion: '1.0.0' });
    expect(v1.notes.join('\n')).not.toMatch(/block-wise weights are not/);
    for (const t of blocked) {
      const entry = v1.encodings.param_encodings.find((e) => e.name === t.name);
      // One scale per block of the scale tensor: the weight's shape, the axis in blocks.
      const blocks = t.shape.map((n, i) => (i === t.axis ? Math.ceil(n / 16) : n)).reduce((a, b) => a * b, 1);
      expect(entry).toMatchObject({ enc_type: 'PER_BLOCK', block_size: 16, bw: 4, is_sym: false });
      expect(entry.scale).toHaveLength(blocks);
      expect(entry.offset).toHaveLength(blocks);
      expect(entry.scale.every((x) => x > 0 && Number.isFinite(x))).toBe(true);
      expect(entry.offset.every((o) => Number.isInteger(o) && o <= 0 && o >= -15)).toBe(true);
    }
  });

  it("block-wise Conv weights are in the 1.0.0 encodings only where AIMET's blocks are ONNX's (1×1, not k×k)", async () => {
    const m = model(
      graph({
        nodes: [node('Conv', ['x', 'K1'], ['y']), node('Conv', ['y', 'K3'], ['z'], { pads: [1, 1, 1, 1] })],
        inputs: [valueInfo('x', [1, 32, 6, 6])],
        outputs: [valueInfo('z', [1, 8, 6, 6])],
        initializers: [floatTensor('K1', [32, 32, 1, 1], randomWeights(32 * 32, 2)), floatTensor('K3', [8, 32, 3, 3], randomWeights(8 * 32 * 9, 3))],
      }),
    );
    const result = await quantizeModel({ 'c.onnx': encode(m) }, { quantizer: wq, bitwidth: 4, blockSize: 16, encodingsVersion: '1.0.0' });
    expect(result.tensors.map((t) => [t.name, t.blockSize])).toEqual([
      ['K1', 16],
      ['K3', 16],
    ]);
    const entries = result.encodings.param_encodings;
    expect(entries.map((e) => e.name)).toEqual(['K1']);
    // AIMET's encoding shape of K1 [32, 32, 1, 1] in blocks of 16 along axis 1: [32, 2, 1, 1].
    expect(entries[0]).toMatchObject({ enc_type: 'PER_BLOCK', block_size: 16 });
    expect(entries[0].scale).toHaveLength(64);
    expect(result.notes.join('\n')).toMatch(/1 block-wise weights are not in the AIMET encodings: .*k×k Conv/);
  });

  it('reports progress and stops on an AbortSignal', async () => {
    const seen = [];
    await quantizeModel({ 'm.onnx': bytes }, { quantizer: wq, onProgress: (p) => seen.push(p.phase) });
    expect(seen[0]).toBe('read');
    expect(seen).toContain('quantize');
    expect(seen.at(-1)).toBe('write');
    const controller = new AbortController();
    controller.abort();
    await expect(quantizeModel({ 'm.onnx': bytes }, { quantizer: wq, signal: controller.signal })).rejects.toThrow(/abort/i);
  });

  it('a tensor holding NaN stays float, with the element named', async () => {
    const m = mlp();
    const w = new Float32Array(m.graph.initializer[0].rawData.slice().buffer);
    w[5] = NaN;
    m.graph.initializer[0].rawData = new Uint8Array(w.buffer);
    const report = await inspectModel({ 'nan.onnx': encode(m) }, { quantizer: wq });
    expect(report.tensors[0]).toMatchObject({ name: 'W1', action: 'keep', reason: 'element 5 is NaN' });
  });

  it('accepts files as a Map, an array of Files and ArrayBuffers', async () => {
    for (const files of [new Map([['m.onnx', bytes]]), [new File([bytes], 'm.onnx')], { 'dir/m.onnx': bytes.slice().buffer }]) {
      const result = await quantizeModel(files, { quantizer: wq });
      expect(Object.keys(result.files)).toEqual(['m.onnx']);
    }
  });
});
