// The codes of a model's weights go straight to where they land in the
// written file (the adapter's reserve predicts it): the bytes must be the
// same as when every tensor is copied into a fresh buffer, the prediction
// must hold (the file is the reserved buffer itself), and where it fails
// (a weight that ends up kept float) the output must still be right.
import { fromBinary } from '@bufbuild/protobuf';
import { beforeAll, describe, expect, it } from 'vitest';
import { createQuantizer } from '../../../web/index.js';
import { decide, parseModelOptions } from '../../../web/models/decide.js';
import { toFileSet } from '../../../web/models/files.js';
import { quantizeModel } from '../../../web/models/index.js';
import { openOnnx } from '../../../web/models/onnx/index.js';
import { ModelProtoSchema } from '../../../web/models/onnx/onnx_pb.js';
import { quantizeWeight } from '../../../web/models/weights.js';
import { encode, externalize, mlp } from './onnx-builder.js';

let wq;
beforeAll(async () => {
  wq = await createQuantizer();
});

const NAME = 'm.onnx';
// K = 120: MatMulNBits blocks of 32 or 64 leave a short last one.
const SIZES = { K: 120, N: 96, M: 80 };
const bytes = encode(mlp(SIZES));

// The driver's steps, with the reservation on or off, and `skip` weights
// left out of the results after being reserved (as a weight holding NaN is).
async function quantized(modelBytes, options, { reserve = true, skip = [] } = {}) {
  const set = toFileSet({ [NAME]: modelBytes });
  const o = parseModelOptions(options);
  const adapter = await openOnnx(set, NAME, o);
  const decisions = new Map();
  for (const w of adapter.weights) {
    const d = adapter.constrain(w, decide(w, o, adapter.defaults));
    if (d.action === 'quantize') decisions.set(w.name, d);
  }
  const reserved = reserve ? await adapter.reserve(decisions) : null;
  const results = new Map();
  for (const w of adapter.weights) {
    const d = decisions.get(w.name);
    if (!d || skip.includes(w.name)) continue;
    const place = reserved?.places.get(w.name);
    results.set(w.name, { decision: d, shape: w.shape, ...quantizeWeight(wq, await w.read(), w.shape, d, place?.codes), bytes: place?.bytes });
  }
  const { files } = await adapter.write(results, { sink: reserved?.sink });
  return { files, reserved };
}

const same = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

describe('codes written in place', () => {
  const cases = {
    '8-bit per channel': {},
    '8-bit per tensor': { perChannel: false },
    '16-bit (opset raised)': { bitwidth: 16 },
    '12-bit symmetric': { bitwidth: 12, scheme: 'symmetric' },
    '4-bit per channel': { bitwidth: 4 },
    '4-bit blocks': { bitwidth: 4, blockSize: 16 },
    '8-bit blocks': { bitwidth: 8, blockSize: 32 },
    MatMulNBits: { format: 'matmulnbits' },
    'MatMulNBits symmetric, blocks of 64': { format: 'matmulnbits', scheme: 'symmetric', blockSize: 64 },
    'MatMulNBits 8-bit': { format: 'matmulnbits', bitwidth: 8, blockSize: 16 },
  };
  for (const [label, options] of Object.entries(cases)) {
    it(`${label}: the file is the reserved buffer, with the bytes of the copying path`, async () => {
      const ours = await quantized(bytes, options);
      const copied = await quantized(bytes, options, { reserve: false });
      expect(ours.reserved).not.toBeNull();
      expect(ours.reserved.places.has('W1')).toBe(true);
      expect(ours.files[NAME]).toBe(ours.reserved.sink);
      expect(same(ours.files[NAME], copied.files[NAME])).toBe(true);
    });
  }

  it('lets the core write 8-bit codes into the file, and views 16-bit ones only at even offsets', async () => {
    for (const bitwidth of [8, 16]) {
      const { reserved } = await quantized(bytes, { bitwidth });
      for (const { bytes: at, codes } of reserved.places.values()) {
        if (bitwidth === 8 || at.byteOffset % 2 === 0) {
          expect(codes.buffer).toBe(reserved.sink.buffer);
          expect(codes.byteOffset).toBe(at.byteOffset);
          expect(codes.byteLength).toBe(at.byteLength);
        } else {
          expect(codes).toBeNull();
        }
      }
    }
  });

  it('writes a fresh, right file when a reserved weight is kept float after all', async () => {
    const ours = await quantized(bytes, {}, { skip: ['W1'] });
    const copied = await quantized(bytes, {}, { reserve: false, skip: ['W1'] });
    expect(ours.files[NAME]).not.toBe(ours.reserved.sink);
    expect(same(ours.files[NAME], copied.files[NAME])).toBe(true);
    const w1 = fromBinary(ModelProtoSchema, ours.files[NAME]).graph.initializer.find((t) => t.name === 'W1');
    expect(same(w1.rawData, fromBinary(ModelProtoSchema, bytes).graph.initializer[0].rawData)).toBe(true);
  });

  it('quantizeModel keeps a weight holding NaN float and writes the others right', async () => {
    const m = mlp(SIZES);
    const w = new Float32Array(m.graph.initializer[0].rawData.slice().buffer);
    w[7] = NaN;
    m.graph.initializer[0].rawData = new Uint8Array(w.buffer);
    const withNaN = await quantizeModel({ [NAME]: encode(m) }, { quantizer: wq });
    const clean = await quantizeModel({ [NAME]: bytes }, { quantizer: wq });
    const tensors = (file) => new Map(fromBinary(ModelProtoSchema, file).graph.initializer.map((t) => [t.name, t.rawData]));
    const a = tensors(withNaN.files[NAME]);
    const b = tensors(clean.files[NAME]);
    expect(withNaN.tensors[0]).toMatchObject({ name: 'W1', action: 'keep' });
    expect(same(a.get('W1'), m.graph.initializer[0].rawData)).toBe(true);
    expect(same(a.get('W2_quantized'), b.get('W2_quantized'))).toBe(true);
    expect(same(a.get('W2_scale'), b.get('W2_scale'))).toBe(true);
  });

  it('reserves nothing where tensors go to external data', async () => {
    expect((await quantized(bytes, { externalData: true })).reserved).toBeNull();
    const m = mlp(SIZES);
    const data = externalize(m, 'm.data');
    const set = toFileSet({ [NAME]: encode(m), 'm.data': data });
    const o = parseModelOptions({});
    const adapter = await openOnnx(set, NAME, o);
    const w = adapter.weights[0];
    expect(await adapter.reserve(new Map([[w.name, adapter.constrain(w, decide(w, o, adapter.defaults))]]))).toBeNull();
  });
});
