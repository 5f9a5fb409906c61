// Bad ONNX input never crashes: truncated or garbage protobuf, missing or
// short external data, unknown dtypes, shapes that overflow — each a clear
// wasmquant error naming the file and the tensor; and a fuzzer that mutates
// models' bytes finds nothing else.
import fc from 'fast-check';
import { beforeAll, describe, it } from 'vitest';
import { createQuantizer } from '../../../web/index.js';
import { quantizeModel } from '../../../web/models/index.js';
import { expectWasmquantRejection, isWasmquantError } from '../helpers.js';
import { FC_SEED } from '../formats/util.js';
import { encode, externalize, mlp } from './onnx-builder.js';
import { OCR, readModel } from './runtimes.js';

let wq;
beforeAll(async () => {
  wq = await createQuantizer();
});

const expectError = (files, options, ...patterns) => expectWasmquantRejection(quantizeModel(files, { quantizer: wq, ...options }), ...patterns);

// mlp() with one change to its first weight W1.
function withW1(change) {
  const m = mlp();
  change(m.graph.initializer[0]);
  return encode(m);
}

describe('bad ONNX bytes', () => {
  it('truncated, garbage and empty files', async () => {
    const det = readModel(`${OCR}/ch_PP-OCRv4_det_infer.onnx`);
    await expectError({ 'det.onnx': det.subarray(0, det.length >> 1) }, {}, /det\.onnx is not a valid ONNX model/);
    await expectError({ 'g.onnx': Uint8Array.from({ length: 64 }, (_, i) => (i * 37) & 0xff) }, {}, /g\.onnx/);
    await expectError({ 'e.onnx': new Uint8Array(0) }, {}, /e\.onnx has no graph/);
  });

  it('unknown data types, bad and overflowing shapes, short data: named with the tensor', async () => {
    await expectError({ 'm.onnx': withW1((t) => (t.dataType = 99)) }, {}, /m\.onnx.*tensor "W1": unknown data_type 99/);
    await expectError({ 'm.onnx': withW1((t) => (t.dims = [2n ** 40n, 2n ** 40n])) }, {}, /tensor "W1".*2\^31 elements/);
    await expectError({ 'm.onnx': withW1((t) => (t.dims = [-1n, 48n])) }, {}, /tensor "W1": dims\[0\] is -1/);
    await expectError({ 'm.onnx': withW1((t) => (t.rawData = t.rawData.subarray(0, 100))) }, {}, /tensor "W1": raw_data has 100 bytes/);
    await expectError(
      { 'm.onnx': withW1((t) => Object.assign(t, { rawData: new Uint8Array(0), floatData: [1, 2, 3] })) },
      {},
      /tensor "W1": holds 3 values/,
    );
  });

  it('external data: missing location, file, or bytes', async () => {
    const m = mlp();
    const data = externalize(m, 'w.bin');
    const bytes = encode(m);
    await expectError({ 'm.onnx': bytes }, {}, /"w\.bin"/, /W1/);
    await expectError({ 'm.onnx': bytes, 'w.bin': data.subarray(0, 10) }, {}, /W1.*w\.bin has 10 bytes/);
    m.graph.initializer[0].externalData = m.graph.initializer[0].externalData.filter((e) => e.key !== 'location');
    await expectError({ 'm.onnx': encode(m), 'w.bin': data }, {}, /W1.*without a location/);
  });

  it('the files and options themselves', async () => {
    const bytes = encode(mlp());
    await expectError({ 'notes.txt': bytes }, {}, /no model among the files/);
    await expectError({ 'a.onnx': bytes, 'b.onnx': bytes }, {}, /several models.*options\.model/);
    await expectError({ 'a.onnx': 42 }, {}, /"a\.onnx" must be a Uint8Array/);
    await expectError({ 'a.onnx': bytes }, { format: 'tfjs' }, /format 'tfjs' writes TF\.js/);
    await expectError({ 'a.onnx': bytes }, { bits: 4 }, /unknown option 'bits'/);
    await expectError({ 'a.onnx': bytes }, { blockSize: 24 }, /blockSize must be a power of two/);
    await expectError({ 'a.onnx': bytes }, { bitwidth: 17 }, /bitwidth must be an integer from 2 to 16/);
    await expectError({ 'a.onnx': bytes }, { rules: [{ bitwidth: 4 }] }, /rules\[0\] needs match/);
    await expectError({ 'a.onnx': bytes }, { keep: 5 }, /keep must be a name pattern/);
  });
});

describe('fuzz: mutated model bytes give a result or a wasmquant error', () => {
  const plain = encode(mlp({ K: 40, N: 32, M: 32 }));
  const external = (() => {
    const m = mlp({ K: 40, N: 32, M: 32 });
    const data = externalize(m, 'm.onnx.data');
    return { model: encode(m), data };
  })();

  async function survives(files) {
    try {
      await quantizeModel(files, { quantizer: wq, minElements: 16 });
      return true;
    } catch (e) {
      if (!isWasmquantError(e)) throw new Error(`not a wasmquant error: ${e?.constructor?.name}: ${e?.message}\n${e?.stack}`, { cause: e });
      return true;
    }
  }

  const mutation = (length) =>
    fc.array(fc.record({ at: fc.nat({ max: length - 1 }), byte: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 8 });
  const mutate = (bytes, edits) => {
    const out = bytes.slice();
    for (const { at, byte } of edits) out[at] = byte;
    return out;
  };

  it('byte edits and truncations of an inline model', async () => {
    await fc.assert(
      fc.asyncProperty(mutation(plain.length), fc.nat({ max: plain.length }), async (edits, cut) =>
        survives({ 'm.onnx': mutate(plain, edits).subarray(0, Math.max(cut, plain.length - 64)) }),
      ),
      { seed: FC_SEED, numRuns: 400 },
    );
  });

  it('byte edits of a model with external data, and of its data file', async () => {
    await fc.assert(
      fc.asyncProperty(mutation(external.model.length), fc.nat({ max: external.data.length }), async (edits, dataLength) =>
        survives({ 'm.onnx': mutate(external.model, edits), 'm.onnx.data': external.data.subarray(0, dataLength) }),
      ),
      { seed: FC_SEED, numRuns: 300 },
    );
  });
});
