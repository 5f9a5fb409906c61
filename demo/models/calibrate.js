// The models panel's calibration card (ONNX models). The package's worker
// runs calibrateModel: the float model in onnxruntime-web (given to the
// worker as a module URL) over generated inputs or the user's .npy and
// .safetensors files. The fully quantized model is then run against the
// float one on an input the calibration did not see, and offered for
// download with its activation and weight encodings.
import { readNpy, readSafetensors } from 'wasmquant';
import { $, saveBytes, shapeText, showError } from '../dom.js';
import { renderCalibration } from './activations.js';
import { generateInputs } from './inputs.js';
import { renderCheck } from './render.js';
import { ORT_DIR, ORT_URL } from './runtimes.js';

const CHECK_IDS = { table: 'm-cal-check-table', input: 'm-cal-check-input' };
// Generated calibration inputs take seeds from here; the check's own input is seed 1.
const FIRST_SEED = 101;
const NOISE_NOTE =
  'Noise is not your data: encodings from it show what calibration does, not the ranges real inputs reach. Give your own inputs for a model you ship.';

let deps = null; // { app, model(), inputs(), options(), size(), check(files, options) } from panel.js
let calibrated = null; // the last calibrateModel result, for the downloads
let generation = 0;

const dimsText = (dims) => (dims ? shapeText(dims.map((d) => (typeof d === 'number' ? d : (d ?? '?')))) : 'of unknown shape');
const inputText = (i) => `${i.name} ${dimsText(i.dims)} ${i.type ?? ''}`.trim();
// Fixed but for the batch, which generated inputs set to 1 (as ./inputs.js does).
const isFixed = (inputs) => inputs.every((i) => i.dims && i.dims.every((d, k) => typeof d === 'number' || k === 0 || /batch/i.test(d ?? '')));

/** A new model or new settings: the last calibration is stale. */
export function resetCalibration() {
  generation += 1;
  calibrated = null;
  $('m-cal-result').hidden = true;
  showError('m-cal-error', null);
  renderCheck(null, CHECK_IDS);
}

/** The card for the model's inputs (inspectModel's `inputs`); hidden for TF.js models. */
export function showCalibration(inputs) {
  $('m-calibrate').hidden = !inputs;
  if (!inputs) {
    // Hidden for another model: files chosen for this one do not fit it.
    $('m-cal-files').value = '';
    $('m-cal-generated').checked = true;
    return;
  }
  const list = inputs.map(inputText).join(', ');
  $('m-cal-files-help').textContent =
    inputs.length === 1
      ? `Yours: one file per calibration input for ${list} — an .npy file, or a .safetensors file with a tensor named "${inputs[0].name}" — preprocessed as the model expects. With two or more, the last is held out for the check.`
      : `Yours: one .safetensors file per calibration input, with a tensor for each of ${list}, preprocessed as the model expects. With two or more, the last is held out for the check.`;
  $('m-cal-generated-help').textContent = isFixed(inputs)
    ? `Generated: the model's input shapes are fixed (${list}), so the inputs are uniform noise in [-1, 1] of those shapes (integer inputs a constant, the batch 1). ${NOISE_NOTE}`
    : `Generated: the model's inputs have free dimensions (${list}): the batch is 1 and every other free dimension is the model check's "Free dimensions" value; the data is uniform noise in [-1, 1] (integer inputs a constant). ${NOISE_NOTE}`;
}

// [{ name, type, shape, data, fill }] (the check's form) as a calibrateModel feed.
const asFeed = (list) => Object.fromEntries(list.map((t) => [t.name, { type: t.type, data: t.data, dims: t.shape }]));

function generatedFeeds(inputs) {
  const count = Math.max(1, Math.min(200, Math.round(Number($('m-cal-count').value)) || 8));
  const shapes = inputs.map((i) => ({ name: i.name, type: i.type, shape: i.dims }));
  const size = deps.size();
  const feeds = Array.from({ length: count }, (_, k) => asFeed(generateInputs(shapes, { size, seed: FIRST_SEED + k })));
  return { feeds, names: null, heldOut: generateInputs(shapes, { size, seed: 1 }), source: 'generated inputs (noise)' };
}

async function readFeed(file, inputs, calibrationFeed) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  try {
    if (/\.safetensors$/i.test(file.name)) return calibrationFeed(readSafetensors(bytes).tensors, inputs, deps.model().main);
    if (!/\.npy$/i.test(file.name)) throw new Error('give .npy or .safetensors files');
    if (inputs.length !== 1) throw new Error(`the model has ${inputs.length} inputs: give .safetensors files with a tensor for each`);
    return calibrationFeed({ [inputs[0].name]: readNpy(bytes) }, inputs, deps.model().main);
  } catch (e) {
    throw new Error(`${file.name}: ${String(e.message).replace(/^wasmquant: /, '')}`, { cause: e });
  }
}

async function fileFeeds(inputs) {
  const files = [...$('m-cal-files').files];
  if (files.length === 0) throw new Error('Choose one or more .npy or .safetensors files as calibration inputs first.');
  const { calibrationFeed } = await import('wasmquant/models');
  const feeds = [];
  for (const file of files) feeds.push(await readFeed(file, inputs, calibrationFeed));
  const names = files.map((f) => f.name);
  const last = feeds.length - 1;
  const heldOut = Object.entries(feeds[last]).map(([name, t]) => ({
    name,
    type: t.type,
    shape: t.dims,
    data: t.data,
    fill: `${names[last]}${feeds.length > 1 ? ', held out' : ', also calibrated on (give two or more files to hold one out)'}`,
  }));
  const used = feeds.length > 1 ? feeds.slice(0, last) : feeds;
  return { feeds: used, names, heldOut, source: used.length === 1 ? 'input of yours' : 'inputs of yours' };
}

function calibrationOptions() {
  // Every weight is quantized (calibrateModel's default) and the format is QDQ.
  const { format: _format, minElements: _min, requantize: _requantize, ...weights } = deps.options();
  const origin = self.location.origin;
  return {
    ...weights,
    ort: new URL(ORT_URL, origin).href,
    // A page that is not cross-origin isolated cannot share wasm memory.
    ortEnv: { wasm: { numThreads: 1, wasmPaths: new URL(ORT_DIR, origin).href } },
    sessionOptions: { logSeverityLevel: 4 },
  };
}

// calibrateModel's "inputs[3]" named by the file it came from.
const named = (message, names) => (names ? message.replace(/inputs\[(\d+)\]/g, (m, i) => `${m} (${names[i] ?? '?'})`) : message);

async function calibrate() {
  const g = ++generation;
  calibrated = null;
  showError('m-cal-error', null);
  $('m-cal-result').hidden = true;
  $('m-cal-run').disabled = true;
  $('m-calibrate').dataset.status = 'busy';
  deps.app.setStatus('busy', 'Calibrating the activations…');
  let run = null;
  try {
    const inputs = deps.inputs();
    run = $('m-cal-own').checked ? await fileFeeds(inputs) : generatedFeeds(inputs);
    const started = performance.now();
    const result = await deps.app.run('calibrateModel', [deps.model().files, run.feeds, calibrationOptions()], {
      label: 'Calibrating',
      immediate: true,
    });
    if (g !== generation) return;
    calibrated = result;
    renderCalibration(result, { feeds: run.feeds.length, source: run.source, ms: performance.now() - started, runtime: 'onnxruntime-web, 1 thread' });
    $('m-cal-result').hidden = false;
    const check = await deps.check(result.files, { feeds: run.heldOut, generated: run.names === null });
    if (g === generation) renderCheck(check, CHECK_IDS);
  } catch (e) {
    if (g === generation) showError('m-cal-error', named(String(e.message), run?.names));
  } finally {
    if (g === generation) {
      $('m-cal-run').disabled = false;
      $('m-calibrate').dataset.status = 'ready';
      deps.app.setStatus('ready', 'Ready');
    }
  }
}

const pause = (ms) => new Promise((ok) => setTimeout(ok, ms));

async function download(what) {
  if (!calibrated) return;
  const main = deps.model().main;
  if (what === 'encodings') {
    saveBytes(`${main.replace(/\.onnx$/i, '')}.encodings.json`, JSON.stringify(calibrated.encodings, null, 2), 'application/json');
    return;
  }
  // A model with external data is 2+ files: one download each.
  for (const [name, bytes] of Object.entries(calibrated.files)) {
    saveBytes(name, bytes);
    await pause(200);
  }
}

/** Wires the card; see `deps` above. */
export function initCalibration(panelDeps) {
  deps = panelDeps;
  $('m-cal-run').addEventListener('click', calibrate);
  $('m-cal-download').addEventListener('click', () => download('model'));
  $('m-cal-download-encodings').addEventListener('click', () => download('encodings'));
  $('m-cal-files').addEventListener('change', () => {
    if ($('m-cal-files').files.length > 0) $('m-cal-own').checked = true;
  });
  for (const id of ['m-cal-generated', 'm-cal-own', 'm-cal-count', 'm-cal-files']) $(id).addEventListener('change', resetCalibration);
}
