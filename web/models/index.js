// wasmquant/models: whole models in, quantized models out. An adapter per
// format (onnx/, tfjs/) opens the model and lists its weights; this driver
// decides what to do with each (decide.js), quantizes with the core
// (weights.js) and has the adapter write the result.
import { createQuantizer } from '../index.js';
import { aimetOfTables } from '../formats/aimet.js';
import { LITTLE_ENDIAN } from '../formats/common.js';
import { decide, parseModelOptions } from './decide.js';
import { toFileSet } from './files.js';
import { openOnnx } from './onnx/index.js';
import { openTfjs } from './tfjs/index.js';
import { quantizeWeight } from './weights.js';

function fail(ErrorClass, message) {
  throw new ErrorClass(`wasmquant: ${message}`);
}

// The main file of the set, and its format.
async function findModel(set, o) {
  const names = [...set.keys()];
  if (o.model !== undefined) {
    if (!set.has(o.model)) fail(RangeError, `options.model names "${o.model}", which is not among the files (${names.join(', ')})`);
  }
  const onnx = names.filter((n) => /\.onnx$/i.test(n));
  const json = names.filter((n) => /\.json$/i.test(n) && !/\.encodings\.json$/i.test(n));
  const candidates = o.model !== undefined ? [o.model] : onnx.length > 0 ? onnx : json;
  if (candidates.length === 0) {
    fail(RangeError, `no model among the files (${names.join(', ')}): give an .onnx file, or a TF.js model.json with its shards`);
  }
  if (candidates.length > 1) {
    fail(RangeError, `several models among the files (${candidates.join(', ')}): name one with options.model`);
  }
  const name = candidates[0];
  return { name, format: /\.onnx$/i.test(name) ? 'onnx' : 'tfjs' };
}

export function checkAborted(signal) {
  if (signal?.aborted) {
    throw signal.reason instanceof Error ? signal.reason : new DOMException('wasmquant: the model was not finished: aborted', 'AbortError');
  }
}

// A weight's values in wasm memory when it holds raw little-endian float32
// bytes (one copy, into memory the core has already touched: a fresh JS
// array of a large weight costs more in page faults than the quantizing),
// else as a Float32Array.
async function readWeight(wq, w) {
  const raw = LITTLE_ENDIAN ? await w.rawFloat32?.() : null;
  if (!raw) return w.read();
  const tensor = wq.allocTensor(w.count);
  const view = tensor.data;
  new Uint8Array(view.buffer, view.byteOffset, view.byteLength).set(raw);
  return tensor;
}

export function firstNonFinite(x) {
  for (let i = 0; i < x.length; i += 1) if (!Number.isFinite(x[i])) return i;
  return -1;
}

// Lets a page repaint and an AbortSignal fire between weights.
const yieldToEventLoop = () => new Promise((resolve) => setTimeout(resolve, 0));

function rowOf(w, decision, result) {
  const row = {
    name: w.name,
    op: w.op,
    shape: w.shape,
    dtype: w.dtype,
    count: w.count,
    action: decision.action,
    bytesBefore: w.byteLength,
    bytesAfter: w.byteLength,
  };
  if (decision.action === 'keep') return { ...row, reason: decision.reason };
  return {
    ...row,
    scheme: decision.scheme,
    bitwidth: decision.bitwidth,
    symmetric: decision.symmetric,
    axis: decision.axis,
    blockSize: decision.blockSize,
    storage: decision.storage,
    note: decision.note,
    sqnrDb: result?.sqnrDb ?? null,
    bytesAfter: decision.bytesAfter ?? w.byteLength,
  };
}

function totalsOf(rows) {
  const sum = (key) => rows.reduce((a, r) => a + r[key], 0);
  return {
    weights: rows.length,
    quantized: rows.filter((r) => r.action === 'quantize').length,
    kept: rows.filter((r) => r.action === 'keep').length,
    bytesBefore: sum('bytesBefore'),
    bytesAfter: sum('bytesAfter'),
  };
}

// Whether AIMET can hold a weight's blocks. Its PER_BLOCK scales have the
// weight's shape with the channel axis whole, the blocked axis in blocks
// and every other axis 1 (aimet_onnx's encoding shape), so one block spans
// those other axes; ONNX's blocks run along the blocked axis only. The two
// agree when at most one axis besides the blocked one is longer than 1 (a
// MatMul or Gemm weight, a 1×1 Conv), and then both order the scales row-major.
const aimetHoldsBlocks = (r) => r.decision.blockSize === null || r.shape.filter((n, i) => i !== r.decision.axis && n > 1).length <= 1;

// The AIMET param_encodings of the quantized weights, by original name
// (aimetOfTables leaves every block-wise one out of 0.6.1).
function encodingsOf(results, version) {
  const tensors = [...results]
    .filter(([, r]) => aimetHoldsBlocks(r))
    .map(([name, r]) => [name, { perChannel: r.decision.axis !== null, blockSize: r.decision.blockSize, table: r.encodings }]);
  return aimetOfTables(tensors, version);
}

// Why block-wise weights are missing from the encodings, if they are.
function encodingsNotes(results, version) {
  const all = [...results.values()];
  const legacy = version === '0.6.1';
  const missing = all.filter((r) => (legacy ? r.decision.blockSize !== null : !aimetHoldsBlocks(r))).length;
  if (missing === 0) return [];
  return [
    legacy
      ? `${missing} block-wise weights are not in the AIMET 0.6.1 encodings, which have no block form: use encodingsVersion '1.0.0' for PER_BLOCK entries`
      : `${missing} block-wise weights are not in the AIMET encodings: their blocks run along one axis of a tensor with other axes longer than 1 (a k×k Conv, a batched MatMul), where an AIMET PER_BLOCK scale covers all of those axes`,
  ];
}

async function run(files, options, write, extra = {}) {
  const o = parseModelOptions(options);
  const set = toFileSet(files);
  const { name, format } = await findModel(set, o);
  if (format === 'tfjs' && o.format !== undefined && o.format !== 'tfjs') {
    fail(RangeError, `format '${o.format}' writes ONNX; ${name} is a TF.js model (format 'tfjs')`);
  }
  if (format === 'onnx' && o.format === 'tfjs') fail(RangeError, `format 'tfjs' writes TF.js; ${name} is an ONNX model`);
  const progress = o.onProgress ?? (() => {});
  checkAborted(o.signal);
  progress({ phase: 'read', done: 0, total: 1, name });
  const model = format === 'onnx' ? await openOnnx(set, name, o) : await openTfjs(set, name);
  const wq = o.quantizer ?? (await createQuantizer());
  const rows = [];
  const results = new Map();
  const total = model.weights.length;
  const decisions = model.weights.map((w) => model.constrain(w, decide(w, o, model.defaults ?? FORMAT_DEFAULTS)));
  // Where the codes will land in the output, so that the core writes them
  // there: a model's codes are most of what is written, and fresh memory
  // costs more to fill than the quantizing.
  const planned = new Map(model.weights.flatMap((w, i) => (decisions[i].action === 'quantize' ? [[w.name, decisions[i]]] : [])));
  const reserved = write && !extra.activations?.length && model.reserve ? await model.reserve(planned) : null;
  let lastYield = Date.now();
  for (const [i, w] of model.weights.entries()) {
    if (Date.now() - lastYield > 30) {
      await yieldToEventLoop();
      lastYield = Date.now();
    }
    checkAborted(o.signal);
    progress({ phase: 'quantize', done: i, total, name: w.name });
    let decision = decisions[i];
    let result = null;
    if (decision.action === 'quantize') {
      const x = await readWeight(wq, w);
      const place = reserved?.places.get(w.name);
      try {
        result = { decision, shape: w.shape, ...quantizeWeight(wq, x, w.shape, decision, place?.codes), bytes: place?.bytes };
        results.set(w.name, result);
      } catch (e) {
        // A tensor holding NaN or ±Inf (a broken export, or a buffer no
        // kernel reads whole) stays float rather than failing the whole
        // model; the core found it, so only then is x scanned for it.
        const values = ArrayBuffer.isView(x) ? x : x.data;
        const bad = firstNonFinite(values);
        if (bad < 0) {
          throw new e.constructor(`wasmquant: ${name}: weight "${w.name}": ${String(e.message).replace(/^wasmquant: /, '')}`);
        }
        decision = { action: 'keep', reason: `element ${bad} is ${values[bad]}` };
      } finally {
        if (!ArrayBuffer.isView(x)) x.free();
      }
    }
    rows.push(rowOf(w, decision, result));
  }
  progress({ phase: 'quantize', done: total, total, name });
  const out = { format: model.format, model: name, tensors: rows, notes: [...model.notes] };
  if (model.inputs) out.inputs = model.inputs;
  if (!write) return { ...out, totals: totalsOf(rows) };
  checkAborted(o.signal);
  progress({ phase: 'write', done: 0, total: 1, name });
  const written = await model.write(results, { ...extra, sink: reserved?.sink });
  progress({ phase: 'write', done: 1, total: 1, name });
  out.notes.push(...written.notes, ...encodingsNotes(results, o.encodingsVersion));
  return {
    ...out,
    files: written.files,
    encodings: encodingsOf(results, o.encodingsVersion),
    totals: totalsOf(rows),
  };
}

const FORMAT_DEFAULTS = Object.freeze({ bitwidth: () => 8, blockSize: () => null });

export { calibrateModel } from './activations.js';
export { calibrationFeed, feedTensor } from './feeds.js';

// Quantizes the weights of an ONNX or TF.js model; resolves to { files,
// encodings, tensors, totals, notes }.
export async function quantizeModel(files, options) {
  return run(files, options, true);
}

// quantizeModel for calibrateModel (activations.js): extra.activations
// [{ name, encoding }] get QuantizeLinear/DequantizeLinear pairs (ONNX).
export async function quantizeModelWith(files, options, extra) {
  return run(files, options, true, extra);
}

// What quantizeModel would do, with every weight's SQNR; nothing is written.
export async function inspectModel(files, options) {
  return run(files, options, false);
}
