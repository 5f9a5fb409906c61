// calibrateModel: static quantization of an ONNX model. The float model runs
// in onnxruntime over the caller's calibration inputs with the activations
// of its integer-capable ops exposed as outputs, each float32 activation fed
// batch after batch to a core calibration (every scheme, once per pass);
// quantizeModel with the same options then writes the weights and the
// activations' Q/DQ pairs (onnx/static.js), and one AIMET file holds both.
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { createQuantizer } from '../index.js';
import { ANALYZE_BATCHES } from '../internal.js';
import { checkChoice, describe, SCHEMES } from '../options.js';
import { activationEncodings } from '../formats/aimet.js';
import { toFileSet } from './files.js';
import { foldIntoConvs } from './onnx/fold.js';
import { ModelProtoSchema, ValueInfoProtoSchema } from './onnx/onnx_pb.js';
import { checkAborted, quantizeModelWith } from './index.js';

function fail(ErrorClass, message) {
  throw new ErrorClass(`wasmquant: calibrateModel: ${message}`);
}

const OWN_OPTIONS = ['ort', 'activations', 'sessionOptions', 'report', 'shareEncodings', 'fold'];
// The activation encoding options; weights take quantizeModel's own.
const ACTIVATION_OPTIONS = ['scheme', 'bitwidth', 'symmetric', 'percentile', 'minRange'];

// The constant operand of an Add or Mul (a HardSwish's 3, a folded-away
// norm's scale) quantized per tensor, as onnxruntime's quantizer does:
// with both inputs quantized the op runs as QLinearAdd/QLinearMul.
const CONSTANT_OPERANDS = Object.freeze({ match: (w) => w.op === 'Add' || w.op === 'Mul', keep: false, perChannel: false });

function modelName(set) {
  const onnx = [...set.keys()].filter((n) => /\.onnx$/i.test(n));
  if (onnx.length !== 1) fail(RangeError, `give exactly one .onnx model among the files, got ${onnx.length ? onnx.join(', ') : 'none'}`);
  return onnx[0];
}

// Ops onnxruntime's QDQ transformer can run in integers (its QLinear* and
// integer kernels, and the data movers it keeps quantized): the tensors
// they read or write are the activations calibrated and given Q/DQ pairs.
// Others (the parts of a decomposed LayerNorm, Pow, Sqrt, ...) stay float.
const QUANTIZED_OPS = new Set([
  'Conv',
  'ConvTranspose',
  'MatMul',
  'Gemm',
  'Add',
  'Mul',
  'Concat',
  'MaxPool',
  'AveragePool',
  'GlobalAveragePool',
  'Relu',
  'Clip',
  'LeakyRelu',
  'Sigmoid',
  'Softmax',
  'Resize',
  'Reshape',
  'Transpose',
  'Squeeze',
  'Unsqueeze',
  'Flatten',
  'Split',
  'Gather',
  'Pad',
  'Slice',
]);

// Ops that only move or select their first input's values: their outputs
// take that input's encoding, as onnxruntime's quantizer does, so the Q/DQ
// pairs around them cancel and they run on the codes (Resize but cubic,
// which can overshoot the input's range).
const SAME_AS_INPUT = new Set(['Reshape', 'Transpose', 'Squeeze', 'Unsqueeze', 'Flatten', 'Split', 'Slice', 'Gather', 'MaxPool', 'Resize']);

function movesValues(node) {
  if (!SAME_AS_INPUT.has(node.opType) || (node.domain !== '' && node.domain !== 'ai.onnx')) return false;
  const mode = node.attribute.find((a) => a.name === 'mode');
  return node.opType !== 'Resize' || !mode || new TextDecoder().decode(mode.s) !== 'cubic';
}

// Each output of a value-moving op gets its input's encoding (the same
// object), in graph order so that chains (Reshape → Transpose) follow.
function shareEncodings(graph, activations) {
  const byName = new Map(activations.map((a) => [a.name, a]));
  for (const node of graph.node) {
    const from = byName.get(node.input[0]);
    if (!from || !movesValues(node)) continue;
    for (const out of node.output) {
      const a = byName.get(out);
      if (a) a.encoding = from.encoding;
    }
  }
}

// A Softmax's outputs lie in [0, 1] whatever the calibration inputs gave:
// they take the encoding of [0, 1], as onnxruntime's quantizer fixes it,
// so that an input the model is surer of than of any calibration input is
// not clipped (the tf or symmetric encoding whatever the scheme: a
// histogram of two values says nothing).
function fixSoftmaxRanges(graph, activations, wq, options) {
  const outputs = new Set(graph.node.filter((n) => n.opType === 'Softmax' && (n.domain === '' || n.domain === 'ai.onnx')).map((n) => n.output[0]));
  const rows = activations.filter((a) => outputs.has(a.name));
  if (rows.length === 0) return;
  const scheme = options.scheme === 'symmetric' ? 'symmetric' : 'tf';
  const { encoding } = wq.quantize(Float32Array.of(0, 1), { ...options, scheme, percentile: undefined });
  for (const row of rows) row.encoding = encoding;
}

// The main graph's tensors that calibration reads: the inputs and outputs
// of its quantized ops but Constants' outputs (parameters), as graph
// outputs (onnxruntime infers their types).
export function exposedModel(model) {
  const g = model.graph;
  const initializers = new Set(g.initializer.map((t) => t.name));
  const outputs = new Set(g.output.map((o) => o.name));
  const names = [];
  const seen = new Set();
  const add = (name) => {
    if (!name || initializers.has(name) || seen.has(name)) return;
    seen.add(name);
    names.push(name);
  };
  const constants = new Set(g.node.filter((n) => n.opType === 'Constant').flatMap((n) => n.output));
  for (const node of g.node) {
    if (!QUANTIZED_OPS.has(node.opType) || (node.domain !== '' && node.domain !== 'ai.onnx')) continue;
    for (const name of [...node.input, ...node.output]) if (!constants.has(name)) add(name);
  }
  for (const name of names) if (!outputs.has(name)) g.output.push(create(ValueInfoProtoSchema, { name }));
  return { bytes: toBinary(ModelProtoSchema, model), names };
}

// A re-readable list of feeds: an array, or a function returning a fresh
// (async) iterable; a one-shot iterable serves single-pass schemes only.
function feedSource(inputs) {
  if (Array.isArray(inputs)) return { rereadable: true, open: () => inputs, count: inputs.length };
  if (typeof inputs === 'function') return { rereadable: true, open: inputs };
  if (inputs && (typeof inputs[Symbol.iterator] === 'function' || typeof inputs[Symbol.asyncIterator] === 'function')) {
    return { rereadable: false, open: () => inputs };
  }
  return fail(TypeError, `inputs must be an array of feeds, a function returning an iterable of feeds, or an iterable, got ${describe(inputs)}`);
}

// A feed { name: ort.Tensor | { data, dims } } as onnxruntime takes it.
function feedOf(ort, feed, index) {
  if (feed === null || typeof feed !== 'object') fail(TypeError, `inputs[${index}] must be an object { inputName: tensor }, got ${describe(feed)}`);
  const out = {};
  for (const [name, t] of Object.entries(feed)) {
    out[name] = t instanceof ort.Tensor ? t : new ort.Tensor(t?.type ?? 'float32', t?.data, t?.dims);
  }
  return out;
}

function checkOptions(options) {
  if (options === null || typeof options !== 'object') fail(TypeError, `options must be an object with at least ort, got ${describe(options)}`);
  const o = options;
  const ort = o.ort;
  if (!ort || typeof ort.InferenceSession?.create !== 'function' || typeof ort.Tensor !== 'function') {
    fail(TypeError, 'options.ort must be the onnxruntime module to run the model with (onnxruntime-web, or onnxruntime-node in Node)');
  }
  if (o.scheme !== undefined) checkChoice('scheme', o.scheme, SCHEMES);
  if (o.activations !== undefined && typeof o.activations !== 'function') {
    fail(TypeError, `options.activations must be a function (name) => boolean, got ${describe(o.activations)}`);
  }
  for (const key of ['report', 'shareEncodings', 'fold']) {
    if (o[key] !== undefined && typeof o[key] !== 'boolean') fail(TypeError, `options.${key} must be a boolean, got ${describe(o[key])}`);
  }
  const activation = {};
  for (const key of ACTIVATION_OPTIONS) if (o[key] !== undefined) activation[key] = o[key];
  // A fully quantized op needs all its weights quantized, however small
  // (the default keeps tensors under 1,024 values float).
  const weights = { minElements: 0 };
  for (const [key, value] of Object.entries(o)) if (!OWN_OPTIONS.includes(key)) weights[key] = value;
  // Before the caller's rules, so that theirs win (a bad rules value is
  // left to quantizeModel's message).
  if (o.rules === undefined || Array.isArray(o.rules)) weights.rules = [CONSTANT_OPERANDS, ...(o.rules ?? [])];
  return {
    ort,
    activation,
    weights,
    keep: o.activations ?? (() => true),
    sessionOptions: o.sessionOptions ?? {},
    report: o.report ?? true,
    shareEncodings: o.shareEncodings ?? true,
    fold: o.fold ?? true,
  };
}

// One read of the inputs (`phase` 'calibrate' or 'report', `pass` from 1):
// fn(outputs, index) for each feed's run, progress after each, the signal
// checked before each.
async function eachRun(runner, phase, pass, fn) {
  const { session, source, ort, signal, progress, name } = runner;
  let index = 0;
  for await (const feed of source.open()) {
    checkAborted(signal);
    let results;
    try {
      results = await session.run(feedOf(ort, feed, index));
    } catch (e) {
      fail(Error, `inputs[${index}]: onnxruntime could not run the model on it: ${e.message}`);
    }
    fn(results, index);
    index += 1;
    progress({ phase, pass, done: index, total: source.count ?? 0, name });
  }
  if (index === 0) fail(RangeError, 'inputs held no feeds');
  // A re-readable source gives the same feeds again: later passes know how many.
  if (source.rereadable) source.count = index;
}

// The finite range of x folded into r ({ min, max }).
function widenRange(r, x) {
  let { min, max } = r;
  for (let i = 0; i < x.length; i += 1) {
    const v = x[i];
    // NaN fails both tests; the infinities are left to the core's check.
    if (v < min && v !== -Infinity) min = v;
    if (v > max && v !== Infinity) max = v;
  }
  r.min = min;
  r.max = max;
}

// One calibration per float32 activation, made when first seen; runs every
// pass of the scheme.
async function runPasses(runner, calibrations, make, keep) {
  const { source } = runner;
  let passes = 1;
  for (let pass = 0; pass < passes; pass += 1) {
    await eachRun(runner, 'calibrate', pass + 1, (results) => {
      for (const [name, tensor] of Object.entries(results)) {
        if (tensor.type !== 'float32' || !keep(name) || tensor.data.length === 0) continue;
        if (!calibrations.has(name)) {
          if (pass > 0) fail(RangeError, `activation "${name}" appeared only in pass ${pass}: give the same inputs in every pass`);
          calibrations.set(name, make());
        }
        const calibration = calibrations.get(name);
        if (calibration.pass === pass) calibration.add(tensor.data);
      }
    });
    const all = [...calibrations.values()];
    if (pass === 0) {
      passes = Math.max(1, ...all.map((c) => c.passes));
      if (passes > 1 && !source.rereadable) {
        fail(TypeError, `this scheme reads the inputs ${passes} times: give an array of feeds or a function returning a fresh iterable`);
      }
    }
    for (const c of all) if (c.pass === pass && c.passes > pass) c.endPass();
  }
}

// One more read of the inputs: each activation's finite range, and its round
// trip under its final encoding reported by the core over all the runs (rows
// get min, max and sqnrDb). The range is a JS loop over every value (the core
// reports only nudged ends), as costly as the calibration itself, so it is
// part of the report rather than of the calibration runs.
async function addRoundTrips(runner, rows, wq) {
  const analyses = new Map();
  try {
    for (const row of rows) {
      // QuantizeLinear rounds half to even: the report is that of the model written.
      analyses.set(row.name, wq[ANALYZE_BATCHES]({ encoding: row.encoding, rounding: 'half-even' }));
    }
    const ranges = new Map(rows.map((row) => [row.name, { min: Infinity, max: -Infinity }]));
    await eachRun(runner, 'report', 1, (results, index) => {
      for (const [name, analysis] of analyses) {
        if (results[name]?.type !== 'float32')
          fail(RangeError, `inputs[${index}] gave no float32 "${name}" this time: give the same inputs every time`);
        analysis.add(results[name].data);
        widenRange(ranges.get(name), results[name].data);
      }
    });
    for (const row of rows) {
      const analysis = analyses.get(row.name);
      analysis.endPass();
      Object.assign(row, ranges.get(row.name), { sqnrDb: analysis.finish().sqnrDb });
    }
  } finally {
    for (const a of analyses.values()) a.free();
  }
}

/**
 * A fully quantized ONNX model, its activations calibrated by running it in
 * options.ort over `inputs` (after folding norms into the Convs before them,
 * options.fold). Resolves to { files, folded, activations: [{ name,
 * encoding, min, max, sqnrDb }], encodings (AIMET: activation_encodings and
 * param_encodings), tensors (the weights' rows), totals, notes }. min, max
 * and sqnrDb take one more read of the inputs (options.report, default true).
 */
export async function calibrateModel(files, inputs, options) {
  const o = checkOptions(options);
  const set = toFileSet(files);
  const name = modelName(set);
  const wq = o.weights.quantizer ?? (await createQuantizer());
  const source = feedSource(inputs);
  const model = fromBinary(ModelProtoSchema, await set.get(name).bytes());
  const notes = [];
  const folded = o.fold ? await foldIntoConvs(model, set, name) : { BatchNormalization: 0, Mul: 0, Add: 0 };
  const counts = Object.entries(folded).filter(([, n]) => n > 0);
  if (counts.length > 0) {
    notes.push(
      `folded ${counts.map(([op, n]) => `${n} ${op}`).join(', ')} into the Conv before each, as onnxruntime's optimizer does (fold: false keeps them)`,
    );
    // The weights are quantized from the folded model.
    set.set(name, toFileSet({ [name]: toBinary(ModelProtoSchema, model) }).get(name));
  }
  const { bytes, names } = exposedModel(model);
  const session = await o.ort.InferenceSession.create(bytes, o.sessionOptions);
  const runner = { session, source, ort: o.ort, signal: o.weights.signal, progress: o.weights.onProgress ?? (() => {}), name };
  const calibrations = new Map();
  let activations;
  try {
    await runPasses(runner, calibrations, () => wq.createCalibrator(o.activation), o.keep);
    activations = names.filter((n) => calibrations.has(n)).map((n) => ({ name: n, encoding: calibrations.get(n).finish() }));
    fixSoftmaxRanges(model.graph, activations, wq, o.activation);
    if (o.shareEncodings) shareEncodings(model.graph, activations);
    if (o.report && source.rereadable) {
      await addRoundTrips(runner, activations, wq);
    } else if (o.report) {
      notes.push(
        'activations: no report (min, max, sqnrDb): the inputs are a one-shot iterable, read once (give an array or a function returning a fresh iterable)',
      );
    }
  } finally {
    for (const c of calibrations.values()) c.free();
    await session.release?.();
  }
  const quantized = await quantizeModelWith(set, { ...o.weights, quantizer: wq }, { activations });
  return {
    files: quantized.files,
    folded,
    activations,
    encodings: { ...quantized.encodings, activation_encodings: activationEncodings(activations, quantized.encodings.version) },
    tensors: quantized.tensors,
    totals: quantized.totals,
    notes: [...quantized.notes, ...notes],
  };
}
