// What to do with each weight of a model: the options of quantizeModel and
// inspectModel, the default rule (README "Whole models"), and the user's
// overrides by name pattern or predicate.
import { checkBitwidth, checkChoice, checkOptionsObject, describe, ROUNDINGS, SCHEMES } from '../options.js';

const FORMATS = ['qdq', 'matmulnbits', 'tfjs'];
const ENCODINGS_VERSIONS = ['0.6.1', '1.0.0'];
export const FLOAT_DTYPES = Object.freeze(['float32', 'float16', 'bfloat16', 'float64']);

// Ops whose weight inputs are quantized by default, and whether they are
// per channel by default (the output-channel axis comes from the format).
const DEFAULT_OPS = Object.freeze({
  Conv: { perChannel: true },
  ConvTranspose: { perChannel: true },
  MatMul: { perChannel: true },
  Gemm: { perChannel: true },
  Gather: { perChannel: false },
  LSTM: { perChannel: false },
  GRU: { perChannel: false },
  RNN: { perChannel: false },
});

// TF.js op and layer names of the same families.
const TFJS_OPS = Object.freeze({
  Conv2D: 'Conv',
  Conv2DBackpropInput: 'ConvTranspose',
  Conv2DTranspose: 'ConvTranspose',
  Conv1D: 'Conv',
  Conv3D: 'Conv',
  DepthwiseConv2dNative: 'Conv',
  DepthwiseConv2D: 'Conv',
  SeparableConv2D: 'Conv',
  FusedConv2D: 'Conv',
  FusedDepthwiseConv2dNative: 'Conv',
  MatMul: 'MatMul',
  BatchMatMul: 'MatMul',
  BatchMatMulV2: 'MatMul',
  FusedMatMul: 'MatMul',
  Dense: 'MatMul',
  Embedding: 'Gather',
  Gather: 'Gather',
  GatherV2: 'Gather',
  ResourceGather: 'Gather',
  LSTM: 'LSTM',
  GRU: 'GRU',
  SimpleRNN: 'RNN',
});

// The family of an op name of either format: 'Conv', 'MatMul', …
export function opFamily(op) {
  if (Object.hasOwn(DEFAULT_OPS, op)) return op;
  return TFJS_OPS[String(op).replace(/^_/, '')] ?? null;
}

const RULE_FIELDS = ['match', 'keep', 'reason', 'bitwidth', 'scheme', 'symmetric', 'perChannel', 'blockSize', 'percentile'];

const KNOWN = [
  'format',
  'bitwidth',
  'scheme',
  'symmetric',
  'strict',
  'percentile',
  'rounding',
  'minRange',
  'perChannel',
  'blockSize',
  'minElements',
  'keep',
  'rules',
  'ops',
  'requantize',
  'encodingsVersion',
  'externalData',
  'model',
  'quantizer',
  'onProgress',
  'signal',
];

function fail(ErrorClass, message) {
  throw new ErrorClass(`wasmquant: ${message}`);
}

function globToRegExp(glob) {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

// A matcher from a name pattern: a glob string ('*' and '?'), a RegExp, a
// predicate (weight) => boolean (or of another `subject` with a name), or
// an array of them (any matches).
export function matcher(pattern, name, subject = 'weight') {
  if (Array.isArray(pattern)) {
    const all = pattern.map((p, i) => matcher(p, `${name}[${i}]`, subject));
    return (w) => all.some((m) => m(w));
  }
  if (typeof pattern === 'string') {
    const re = globToRegExp(pattern);
    return (w) => re.test(w.name);
  }
  if (pattern instanceof RegExp) return (w) => new RegExp(pattern.source, pattern.flags.replace('g', '')).test(w.name);
  if (typeof pattern === 'function') return (w) => Boolean(pattern(w));
  return fail(
    TypeError,
    `${name} must be a name pattern (string with * and ?), a RegExp, a function (${subject}) => boolean or an array of them, got ${describe(pattern)}`,
  );
}

function checkBoolean(name, value) {
  if (value !== undefined && typeof value !== 'boolean') fail(TypeError, `${name} must be true or false, got ${describe(value)}`);
  return value;
}

function checkBlockSize(value, name) {
  if (value === undefined || value === null) return value;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 16 || (value & (value - 1)) !== 0) {
    fail(RangeError, `${name} must be a power of two of at least 16 (e.g. 32, 64, 128), got ${describe(value)}`);
  }
  return value;
}

function checkRule(rule, i) {
  const where = `rules[${i}]`;
  checkOptionsObject(rule, RULE_FIELDS, where);
  if (rule.match === undefined) fail(TypeError, `${where} needs match: a name pattern, RegExp or predicate`);
  if (rule.bitwidth !== undefined) checkBitwidth(rule.bitwidth, `${where}.bitwidth`);
  if (rule.scheme !== undefined) checkChoice(`${where}.scheme`, rule.scheme, SCHEMES);
  checkBoolean(`${where}.keep`, rule.keep);
  checkBoolean(`${where}.symmetric`, rule.symmetric);
  checkBoolean(`${where}.perChannel`, rule.perChannel);
  checkBlockSize(rule.blockSize, `${where}.blockSize`);
  if (rule.reason !== undefined && typeof rule.reason !== 'string') fail(TypeError, `${where}.reason must be a string, got ${describe(rule.reason)}`);
  const { match, ...settings } = rule;
  return { matches: matcher(match, `${where}.match`), settings };
}

// The model options with defaults filled in; the core checks the numeric
// ranges (minRange, percentile) when it quantizes.
export function parseModelOptions(options) {
  const o = { ...checkOptionsObject(options, KNOWN, 'model options') };
  if (o.format !== undefined) checkChoice('format', o.format, FORMATS);
  if (o.bitwidth !== undefined) checkBitwidth(o.bitwidth);
  if (o.scheme !== undefined) checkChoice('scheme', o.scheme, SCHEMES);
  if (o.rounding !== undefined) checkChoice('rounding', o.rounding, ROUNDINGS);
  checkChoice('encodingsVersion', o.encodingsVersion ?? '0.6.1', ENCODINGS_VERSIONS);
  for (const key of ['symmetric', 'strict', 'perChannel', 'requantize']) checkBoolean(key, o[key]);
  if (o.externalData !== undefined && typeof o.externalData !== 'boolean' && o.externalData !== 'auto') {
    fail(TypeError, `externalData must be true, false or 'auto', got ${describe(o.externalData)}`);
  }
  checkBlockSize(o.blockSize, 'blockSize');
  const minElements = o.minElements ?? 1024;
  if (typeof minElements !== 'number' || !Number.isInteger(minElements) || minElements < 0) {
    fail(RangeError, `minElements must be a non-negative integer, got ${describe(minElements)}`);
  }
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') {
    fail(TypeError, `onProgress must be a function, got ${describe(o.onProgress)}`);
  }
  if (o.signal !== undefined && (o.signal === null || typeof o.signal.aborted !== 'boolean')) {
    fail(TypeError, `signal must be an AbortSignal, got ${describe(o.signal)}`);
  }
  if (o.rules !== undefined && !Array.isArray(o.rules)) fail(TypeError, `rules must be an array, got ${describe(o.rules)}`);
  let ops = DEFAULT_OPS;
  if (o.ops !== undefined) {
    if (!Array.isArray(o.ops) || o.ops.some((op) => typeof op !== 'string')) {
      fail(TypeError, `ops must be an array of op names (e.g. ['Conv', 'MatMul']), got ${describe(o.ops)}`);
    }
    ops = Object.fromEntries(o.ops.map((op) => [op, DEFAULT_OPS[op] ?? { perChannel: false }]));
  }
  return {
    ...o,
    minElements,
    ops,
    encodingsVersion: o.encodingsVersion ?? '0.6.1',
    keep: o.keep === undefined ? () => false : matcher(o.keep, 'keep'),
    rules: (o.rules ?? []).map(checkRule),
  };
}

const keep = (reason) => ({ action: 'keep', reason });

// The first reason a weight stays as it is, before any rule of the user.
function defaultKeepReason(w, o) {
  if (!FLOAT_DTYPES.includes(w.dtype)) return `${w.dtype} is not a float type`;
  if (w.quantized && !o.requantize) return `already stored as ${w.quantized.dtype} (requantize: true re-quantizes it)`;
  const family = opFamily(w.op);
  if (w.role !== 'weight' || family === null || !Object.hasOwn(o.ops, family)) {
    return w.role === 'bias' ? `bias of ${w.op}` : `not a weight input of a quantized op (read by ${w.op})`;
  }
  if (w.shape.length <= 1) return '1-D (bias, norm or scale)';
  if (w.count < o.minElements) return `under ${o.minElements} values`;
  return null;
}

// The decision for one weight: { action: 'keep', reason } or
// { action: 'quantize', bitwidth, scheme, …, axis, blockSize }.
export function decide(w, o, formatDefaults) {
  const settings = {};
  for (const rule of o.rules) if (rule.matches(w)) Object.assign(settings, rule.settings);
  if (o.keep(w)) return keep('kept by options.keep');
  if (settings.keep === true) return keep(settings.reason ?? 'kept by a rule');
  if (settings.keep !== false) {
    const reason = defaultKeepReason(w, o);
    if (reason !== null) return keep(reason);
  } else if (!FLOAT_DTYPES.includes(w.dtype)) {
    return keep(`${w.dtype} is not a float type`);
  }
  const family = opFamily(w.op);
  const perChannel = settings.perChannel ?? o.perChannel ?? o.ops[family]?.perChannel ?? false;
  const wanted = w.blockAxis === null ? null : (settings.blockSize ?? o.blockSize ?? formatDefaults.blockSize(w));
  // An axis no longer than one block would get a scale per value or per
  // few values: such a weight (a depthwise conv's single input channel) is
  // quantized per channel instead.
  const blockSize = wanted !== null && w.shape[w.blockAxis] > wanted ? wanted : null;
  const blockNote =
    wanted !== null && blockSize === null
      ? `axis ${w.blockAxis} has ${w.shape[w.blockAxis]} values, no more than a block of ${wanted}: per channel`
      : undefined;
  const scheme = settings.scheme ?? o.scheme ?? 'tf';
  return {
    action: 'quantize',
    bitwidth: settings.bitwidth ?? o.bitwidth ?? formatDefaults.bitwidth(w),
    scheme,
    symmetric: settings.symmetric ?? o.symmetric ?? scheme === 'symmetric',
    strict: o.strict ?? false,
    percentile: scheme === 'percentile' ? (settings.percentile ?? o.percentile) : undefined,
    rounding: o.rounding ?? 'half-up',
    minRange: o.minRange,
    // Blocks run along the reduction axis; channels are the output axis.
    axis: blockSize !== null ? w.blockAxis : perChannel || blockNote ? w.channelAxis : null,
    blockSize,
    note: blockNote,
  };
}
