// A consumer of every export, type-checked under `strict` with both
// moduleResolution bundler and nodenext (tests/js/types.test.js).
import {
  channelSlices,
  createQuantizer,
  fromAimetEncodings,
  readNpy,
  readSafetensors,
  simd128Supported,
  toAimetEncodings,
  writeNpy,
  writeSafetensors,
  type Calibration,
  type ChannelSlice,
  type Encoding,
  type Quantizer,
  type Report,
} from 'wasmquant';
import {
  calibrateModel,
  calibrationFeed,
  feedTensor,
  inspectModel,
  quantizeModel,
  type CalibratedModel,
  type ModelOptions,
  type QuantizedModel,
  type WeightRow,
} from 'wasmquant/models';
import { connectWorker, type WorkerClient } from 'wasmquant/worker';

export async function everything(bytes: Uint8Array, worker: Worker): Promise<number> {
  const wq: Quantizer = await createQuantizer(simd128Supported() ? undefined : { backend: 'scalar' });
  const x = new Float32Array([-1.8, -1, 0, 0.5]);
  const { codes, encoding } = wq.quantize(x, { bitwidth: 8, scheme: 'tf_enhanced' });
  const single: Encoding = Array.isArray(encoding) ? encoding[0] : encoding;
  const back: Float32Array = wq.dequantize(codes, single);
  const report: Report = wq.analyze(back, { rounding: 'half-even' });
  const grid: Report[] = wq.analyzeMany(x, [{ bitwidth: 4 }, { scheme: 'percentile', percentile: 99.9 }]);
  const streamed: Report[] = await wq.analyzeManyStream(() => [x], [{ scheme: 'symmetric' }]);
  const files = toAimetEncodings({ w: single }, { version: '1.0.0' });
  const parsed = fromAimetEncodings(files);
  const npy = readNpy(writeNpy(x, [4]));
  const st = readSafetensors(writeSafetensors({ w: { data: x, shape: [4] } }));

  const options: ModelOptions = {
    format: 'qdq',
    bitwidth: 4,
    blockSize: 32,
    keep: ['*.bias', /norm/, (w) => w.op === 'Gather'],
    rules: [{ match: 'embed*', bitwidth: 8, perChannel: false }],
    onProgress: ({ phase, done, total }) => void `${phase} ${done}/${total}`,
    signal: AbortSignal.timeout(1000),
    quantizer: wq,
  };
  const model: QuantizedModel = await quantizeModel({ 'model.onnx': bytes }, options);
  const calibratedModel: CalibratedModel = await calibrateModel({ 'model.onnx': bytes }, [{ x: { data: x, dims: [4] } }], {
    ort: {},
    scheme: 'percentile',
    report: false,
  });
  const [firstActivation] = calibratedModel.activations;
  const activationRange: number = (firstActivation.max ?? 0) - (firstActivation.min ?? 0);
  const activationSqnr: number | undefined = firstActivation.sqnrDb;
  const inspection = await inspectModel(new Map([['model.onnx', bytes]]));
  const rows: WeightRow[] = inspection.tensors;
  const firstDim: number | string | null | undefined = inspection.inputs?.[0]?.dims?.[0];
  const inputs = inspection.inputs ?? [];
  const feedFile = readNpy(bytes);
  const feed = calibrationFeed({ [inputs[0].name]: feedFile }, inputs, 'model.onnx');
  const one = feedTensor(feedFile, inputs[0]);
  const feedDims: number[] = [...(feed[inputs[0].name]?.dims ?? []), ...one.dims];
  const client: WorkerClient = connectWorker(worker);
  const remote = await client.call<QuantizedModel>('quantizeModel', [{ 'm.onnx': bytes }, { bitwidth: 8 }]);
  client.terminate();
  const calibration: Calibration = wq.createCalibrator({ scheme: 'tf_enhanced' });
  for (let pass = 0; pass < calibration.passes; pass += 1) {
    calibration.add(x);
    calibration.endPass();
  }
  const calibrated = calibration.finish();
  const slices: ChannelSlice[] = [...channelSlices([4, 3], 1, { maxLength: 6, channel: 2 })];
  const sliced = slices.map((s) => wq.quantize(x.subarray(s.start, s.start + s.length), { shape: s.shape, axis: s.axis }).codes.length);
  return (
    sliced.length +
    calibratedModel.activations.length +
    activationRange +
    (activationSqnr ?? 0) +
    (Array.isArray(calibrated) ? calibrated.length : calibrated.scale) +
    report.sqnrDb +
    grid.length +
    streamed.length +
    Object.keys(parsed).length +
    npy.shape.length +
    Object.keys(st.tensors).length +
    model.totals.bytesAfter +
    rows.length +
    Object.keys(remote.files).length
  );
}
