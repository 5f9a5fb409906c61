#!/usr/bin/env node
// calibrateModel against the float model it calibrates (issue 10: 100
// batches calibrated in at most about twice the time of running them through
// the float model), on PaddleOCR's classifier and text detector, in
// onnxruntime-node and onnxruntime-web (wasm, one thread).
//
//   node bench/calibrate.js             rewrites the "Calibration" section of bench/RESULTS.md
//   node bench/calibrate.js --no-write  prints only
//   node bench/calibrate.js --quick     10 batches, one repeat (prints only)

import os from 'node:os';
import { fromBinary } from '@bufbuild/protobuf';
import { createQuantizer } from '../web/index.js';
import { calibrateModel } from '../web/models/index.js';
import { exposedModel } from '../web/models/onnx/exposed.js';
import { foldIntoConvs } from '../web/models/onnx/fold.js';
import { ModelProtoSchema } from '../web/models/onnx/onnx_pb.js';
import { lineCrops, OCR, readModel, RUNTIMES, textPage } from '../tests/js/models/runtimes.js';
import { writeSection } from './sections.js';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const BATCHES = QUICK ? 10 : 100;
const REPEATS = QUICK ? 1 : 3;
const DET = [160, 256];
const MODELS = [
  { label: 'cls', file: 'ch_ppocr_mobile_v2.0_cls_infer.onnx', input: '1×3×48×192', feeds: () => lineCrops(BATCHES, 1) },
  {
    label: 'det',
    file: 'ch_PP-OCRv4_det_infer.onnx',
    input: `1×3×${DET.join('×')}`,
    feeds: () => Array.from({ length: BATCHES }, (_, i) => textPage(i + 1, ...DET)),
  },
];

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function runAll(ort, bytes, feeds) {
  const session = await ort.InferenceSession.create(bytes);
  const tensors = feeds.map((f) => ({ x: new ort.Tensor('float32', f.x.data, f.x.dims) }));
  const start = performance.now();
  for (const feed of tensors) await session.run(feed);
  const ms = performance.now() - start;
  await session.release?.();
  return ms;
}

async function timeCalibration(ort, wq, file, bytes, feeds, report) {
  const start = performance.now();
  await calibrateModel({ [file]: bytes }, feeds, { ort, quantizer: wq, report });
  return performance.now() - start;
}

// Median ms (min–max) of each variant, the variants interleaved per repeat
// so that a busy spell of the shared machine hits all of them alike.
async function bench(ort, wq, { file, feeds }) {
  const bytes = readModel(`${OCR}/${file}`);
  // What calibrateModel runs: the model with its norms folded into the Convs.
  const folded = fromBinary(ModelProtoSchema, bytes);
  await foldIntoConvs(folded, new Map(), file);
  const exposed = exposedModel(folded).bytes;
  const list = feeds();
  const variants = {
    float: () => runAll(ort, bytes, list),
    exposed: () => runAll(ort, exposed, list),
    calibrate: () => timeCalibration(ort, wq, file, bytes, list, false),
    'calibrate + report': () => timeCalibration(ort, wq, file, bytes, list, true),
  };
  const runs = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (let r = 0; r < REPEATS; r += 1) for (const [k, fn] of Object.entries(variants)) runs[k].push(await fn());
  return Object.fromEntries(Object.entries(runs).map(([k, ms]) => [k, { ms: median(ms), min: Math.min(...ms), max: Math.max(...ms) }]));
}

function section(results, load) {
  const rows = [];
  for (const { runtime, model, r } of results) {
    const float = r.float.ms;
    for (const [variant, { ms, min, max }] of Object.entries(r)) {
      const ratio = (ms / float).toFixed(2);
      const holds = variant === 'calibrate' ? (ms <= 2 * float ? 'yes' : '**no**') : '';
      rows.push(
        `| ${runtime} | ${model.label} (${model.input}) | ${variant} | ${ms.toFixed(0)} (${min.toFixed(0)}–${max.toFixed(0)}) | ${ratio}× | ${holds} |`,
      );
    }
  }
  return [
    '## Calibration',
    '',
    `Command: \`npm run bench:calibrate\` (\`node bench/calibrate.js\`) on ${os.cpus()[0]?.model ?? 'this machine'} (${os.cpus().length} cores), Node ${process.versions.node}; load average ${load.start} at the start, ${load.end} at the end.`,
    `${BATCHES} batches of one image each: PaddleOCR's text-direction classifier on text-line crops, its PP-OCRv4 text detector on generated text pages (tests/js/models/runtimes.js), onnxruntime-node (default threads) and onnxruntime-web (wasm, one thread) in Node.`,
    '“float”: the float model run over the batches (session made before the clock starts). “exposed”: the model with its norms folded into the Convs and every calibrated activation as an output, which is what calibration runs. “calibrate”: the whole `calibrateModel` with `report: false` (session, runs, calibration of every activation, the QDQ model and encodings written); the goal is at most 2× float. “calibrate + report”: the default, with the second read of the inputs for each activation’s SQNR. Median of ' +
      `${REPEATS} (min–max), variants interleaved.`,
    '',
    '| runtime | model | variant | ms (spread) | / float | ≤ 2× |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const wq = await createQuantizer();
const startLoad = load();
const results = [];
for (const [runtime, ort] of Object.entries(RUNTIMES)) {
  for (const model of MODELS) {
    const r = await bench(ort, wq, model);
    console.error(
      `${runtime} ${model.label}: ${Object.entries(r)
        .map(([k, v]) => `${k} ${v.ms.toFixed(0)} ms`)
        .join(', ')}`,
    );
    results.push({ runtime, model, r });
  }
}
const text = section(results, { start: startLoad, end: load() });
if (QUICK || argv.includes('--no-write')) console.log(text);
else writeSection('Calibration', text);
