// calibrateModel: static quantization of an ONNX model. The float model (its
// Convs' norms folded, onnx/fold.js) runs in onnxruntime over the caller's
// calibration inputs with the activations of its integer-capable ops
// exposed as outputs (onnx/exposed.js), each float32 activation fed batch
// after batch to a core calibration (every scheme, once per pass), or for
// tf and symmetric in onnxruntime-node reduced to its range within the run
// (onnx/ranges.js); quantizeModel with the same options then writes the
// weights and the activations' Q/DQ pairs (onnx/static.js), and one AIMET
// file holds both. docs/design.md "Calibration" has the steps.
import { fromBinary } from '@bufbuild/protobuf';
import { createQuantizer } from '../index.js';
import { ANALYZE_BATCHES } from '../internal.js';
import { checkChoice, describe, SCHEMES } from '../options.js';
import { matcher } from './decide.js';
import { activationEncodings } from '../formats/aimet.js';
import { toFileSet } from './files.js';
import { foldIntoConvs } from './onnx/fold.js';
import { fixSoftmaxRanges, shareEncodings, sharedEncodings, softmaxOutputs } from './onnx/encoding-rules.js';
import { excludedNodes, exclusionNotes, exposedModel } from './onnx/exposed.js';
import { allGraphs } from './onnx/graph.js';
import { ModelProtoSchema } from './onnx/onnx_pb.js';
import { serializeModel } from './onnx/serialize.js';
import { inlineExternalData } from './onnx/write.js';
import { RANGES_OUTPUT, rangesModel, rangesSupported } from './onnx/ranges.js';
import { checkAborted, firstNonFinite, quantizeModelWith } from './index.js';

function fail(ErrorClass, message) {
  throw new ErrorClass(`wasmquant: calibrateModel: ${message}`);
}

const OWN_OPTIONS = ['ort', 'activations', 'sessionOptions', 'report', 'shareEncodings', 'fuseActivations', 'shareConcat', 'fold', 'excludeNodes'];
// The activation encoding options; weights take quantizeModel's own.
const ACTIVATION_OPTIONS = ['scheme', 'bitwidth', 'symmetric', 'percentile', 'minRange'];

// The constant operand of an Add or Mul (a HardSwish's 3, a scale that no
// Conv precedes) quantized per tensor, as onnxruntime's quantizer does:
// with both inputs quantized the op runs as QLinearAdd/QLinearMul.
const CONSTANT_OPERANDS = Object.freeze({ match: (w) => w.op === 'Add' || w.op === 'Mul', keep: false, perChannel: false });

function modelName(set) {
  const onnx = [...set.keys()].filter((n) => /\.onnx$/i.test(n));
  if (onnx.length !== 1) fail(RangeError, `give exactly one .onnx model among the files, got ${onnx.length ? onnx.join(', ') : 'none'}`);
  return onnx[0];
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
  for (const key of ['report', 'shareEncodings', 'fuseActivations', 'shareConcat', 'fold']) {
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
    exclude: o.excludeNodes === undefined ? null : matcher(o.excludeNodes, 'options.excludeNodes', 'node'),
    sessionOptions: o.sessionOptions ?? {},
    report: o.report ?? true,
    shareEncodings: o.shareEncodings ?? true,
    fuseActivations: o.fuseActivations ?? true,
    shareConcat: o.shareConcat ?? false,
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
    await eachRun(runner, 'calibrate', pass + 1, (results, index) => {
      for (const name of runner.outer.keys()) {
        const tensor = results[runner.outer.get(name)];
        if (tensor?.type !== 'float32' || !keep(name) || tensor.data.length === 0) continue;
        if (!calibrations.has(name)) {
          if (pass > 0) fail(RangeError, `activation "${name}" appeared only in pass ${pass}: give the same inputs in every pass`);
          calibrations.set(name, make());
        }
        const calibration = calibrations.get(name);
        if (calibration.pass !== pass) continue;
        try {
          calibration.add(tensor.data);
        } catch (e) {
          const k = firstNonFinite(tensor.data);
          if (k < 0) throw e;
          fail(RangeError, nonFinite(index, name, String(tensor.data[k]), ` (element ${k})`));
        }
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

// The names among `names` whose exposed output onnxruntime says is a
// float32 tensor, or null when it does not say (no outputMetadata).
function floatOutputs(session, names, outer) {
  const metadata = session.outputMetadata;
  if (!Array.isArray(metadata) || metadata.length === 0) return null;
  const types = new Map(metadata.map((m) => [m.name, m.isTensor === false ? null : m.type]));
  return names.filter((n) => types.get(outer.get(n)) === 'float32');
}

// what: 'NaN', 'Infinity' or '-Infinity'; where: ' (element k)' or ''.
const nonFinite = (index, name, what, where = '') =>
  `inputs[${index}]: activation "${name}" holds ${what}${where}: calibration takes finite values only`;

// One read of the inputs through the ranges model: each activation's
// { min, max } over all the runs (absent if it was empty in every run).
async function runRanges(runner, names, session) {
  const ranges = new Map();
  try {
    await eachRun({ ...runner, session }, 'calibrate', 1, (results, index) => {
      const data = results[RANGES_OUTPUT].data;
      const k = names.length;
      names.forEach((name, i) => {
        const [min, max, sum] = [data[i], data[k + i], data[2 * k + i]];
        if (min === -Infinity || max === Infinity || Number.isNaN(sum)) {
          fail(RangeError, nonFinite(index, name, min === -Infinity ? '-Infinity' : max === Infinity ? 'Infinity' : 'NaN'));
        }
        if (min > max) return; // empty this run
        const r = ranges.get(name);
        ranges.set(name, r ? { min: Math.min(r.min, min), max: Math.max(r.max, max) } : { min, max });
      });
    });
  } finally {
    await session.release?.();
  }
  return ranges;
}

// The session of the ranges model, or null if onnxruntime cannot make one
// (every value is then read instead: slower, the same encodings).
async function rangesSession(runner, names) {
  const bytes = rangesModel(
    runner.exposed,
    names.map((n) => runner.outer.get(n)),
  );
  try {
    return await runner.ort.InferenceSession.create(bytes, runner.sessionOptions);
  } catch {
    return null;
  }
}

// A tf or symmetric encoding depends on the range alone: that of its ends.
function encodingOfRange(wq, options, { min, max }) {
  const c = wq.createCalibrator(options);
  try {
    c.add(Float32Array.of(min, max));
    c.endPass();
    return c.finish();
  } finally {
    c.free();
  }
}

const RANGE_SCHEMES = new Set(['tf', 'symmetric']);

// Every activation's encoding, in graph order: for tf and symmetric from
// the ranges onnxruntime computes (returned as `ranges`, which the report
// reuses); for the histogram schemes from all the values, every pass.
async function calibrateActivations(runner, names, o, wq) {
  const floats = RANGE_SCHEMES.has(o.activation.scheme ?? 'tf') && runner.rangesOk ? floatOutputs(runner.session, names, runner.outer) : null;
  const kept = floats?.filter(o.keep) ?? [];
  const session = kept.length > 0 ? await rangesSession(runner, kept) : null;
  if (session !== null) {
    const ranges = await runRanges(runner, kept, session);
    const activations = names.filter((n) => ranges.has(n)).map((n) => ({ name: n, encoding: encodingOfRange(wq, o.activation, ranges.get(n)) }));
    return { activations, ranges };
  }
  const calibrations = new Map();
  try {
    await runPasses(runner, calibrations, () => wq.createCalibrator(o.activation), o.keep);
    return { activations: names.filter((n) => calibrations.has(n)).map((n) => ({ name: n, encoding: calibrations.get(n).finish() })), ranges: null };
  } finally {
    for (const c of calibrations.values()) c.free();
  }
}

// One more read of the inputs: each activation's round trip under its
// final encoding, reported by the core over all the runs, and its finite
// range unless `known` (tf and symmetric calibration had onnxruntime compute
// them; else a JS loop over every value, as costly as the calibration):
// rows get min, max and sqnrDb.
async function addRoundTrips(runner, rows, wq, known) {
  const analyses = new Map();
  try {
    for (const row of rows) {
      // QuantizeLinear rounds half to even: the report is that of the model written.
      analyses.set(row.name, wq[ANALYZE_BATCHES]({ encoding: row.encoding, rounding: 'half-even' }));
    }
    const ranges = known ?? new Map(rows.map((row) => [row.name, { min: Infinity, max: -Infinity }]));
    await eachRun(runner, 'report', 1, (results, index) => {
      for (const [name, analysis] of analyses) {
        const tensor = results[runner.outer.get(name)];
        if (tensor?.type !== 'float32') fail(RangeError, `inputs[${index}] gave no float32 "${name}" this time: give the same inputs every time`);
        analysis.add(tensor.data);
        if (!known) widenRange(ranges.get(name), tensor.data);
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

// The encoding rules (onnx/encoding-rules.js) of every graph: derived(names)
// gives the activations among `names` whose encodings the rules set;
// apply(names, calibrated, skipped) gives every activation's row (the
// calibrated ones, and those skipped ones whose source has one), in the
// order of `names`, the rules' encodings set.
function encodingRules(model, o) {
  const symmetric = o.activation.symmetric ?? o.activation.scheme === 'symmetric';
  const share = { concat: o.shareConcat, movers: o.shareEncodings, activations: o.fuseActivations && !symmetric };
  const graphs = allGraphs(model.graph).map(({ graph }) => ({ graph, pairs: sharedEncodings(graph, share), softmax: softmaxOutputs(graph) }));
  return {
    derived(names) {
      const out = new Set();
      for (const { pairs, softmax } of graphs) {
        for (const name of softmax) if (names.has(name)) out.add(name);
        for (const [target, source] of pairs) if (names.has(target) && names.has(source)) out.add(target);
      }
      return out;
    },
    apply(names, calibrated, skipped, wq, options) {
      const rows = new Map(calibrated.map((a) => [a.name, a]));
      const wanted = new Set(names.filter((n) => skipped.has(n)));
      for (const { pairs, softmax } of graphs) {
        for (const name of softmax) if (wanted.has(name) && !rows.has(name)) rows.set(name, { name, encoding: null });
        for (const [target, source] of pairs)
          if (wanted.has(target) && !rows.has(target) && rows.has(source)) rows.set(target, { name: target, encoding: null });
      }
      const activations = names.filter((n) => rows.has(n)).map((n) => rows.get(n));
      for (const { graph, pairs } of graphs) {
        fixSoftmaxRanges(graph, activations, wq, options);
        shareEncodings(pairs, activations);
      }
      return activations;
    },
  };
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
  const excluded = excludedNodes(model, o.exclude);
  if (o.exclude) notes.push(...exclusionNotes(excluded));
  const folded = o.fold ? await foldIntoConvs(model, set, name, (n) => excluded.nodes.has(n)) : { BatchNormalization: 0, Mul: 0, Add: 0 };
  const counts = Object.entries(folded).filter(([, n]) => n > 0);
  if (counts.length > 0) {
    notes.push(
      `folded ${counts.map(([op, n]) => `${n} ${op}`).join(', ')} into the Conv before each, as onnxruntime's optimizer does (fold: false keeps them)`,
    );
    // The weights are quantized from the folded model.
    set.set(name, toFileSet({ [name]: serializeModel(model) }).get(name));
  }
  await inlineExternalData(model, set, name);
  // Before exposing: that makes every activation a graph output. Without a
  // report, the activations whose encodings the rules give are not
  // calibrated at all (fewer reductions or copies a run), nor exposed in
  // the main graph (fewer outputs).
  const rules = encodingRules(model, o);
  const derived = (names) => (o.report ? new Set() : rules.derived(new Set(names.filter(o.keep))));
  const exposed = exposedModel(model, excluded.nodes, derived);
  const session = await o.ort.InferenceSession.create(exposed.bytes, o.sessionOptions);
  const runner = {
    session,
    source,
    ort: o.ort,
    sessionOptions: o.sessionOptions,
    signal: o.weights.signal,
    progress: o.weights.onProgress ?? (() => {}),
    name,
    outer: exposed.outer,
    exposed: exposed.bytes,
    // In onnxruntime-node handing every activation to JavaScript costs
    // several times the run, and the reductions little; in onnxruntime-web
    // (wasm) the copy out is cheap and three more passes over each
    // activation are not (the detector: 1.7× the float run either way).
    rangesOk: rangesSupported(model) && Boolean(o.ort.env?.versions?.node),
  };
  const names = exposed.names.filter(o.keep);
  let activations;
  try {
    const skip = derived(names);
    const calibrated = await calibrateActivations(runner, names, { ...o, keep: (n) => o.keep(n) && !skip.has(n) }, wq);
    activations = rules.apply(names, calibrated.activations, skip, wq, o.activation);
    if (o.report && source.rereadable) {
      await addRoundTrips(runner, activations, wq, calibrated.ranges);
    } else if (o.report) {
      notes.push(
        'activations: no report (min, max, sqnrDb): the inputs are a one-shot iterable, read once (give an array or a function returning a fresh iterable)',
      );
    }
  } finally {
    await session.release?.();
  }
  const weights = { ...o.weights, quantizer: wq };
  if (excluded.weights.size > 0 && Array.isArray(weights.rules)) {
    weights.rules = [...weights.rules, { match: (w) => excluded.weights.has(w.name), keep: true, reason: 'read by excluded nodes only' }];
  }
  const quantized = await quantizeModelWith(set, weights, { activations });
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
