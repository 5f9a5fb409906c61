// Validation of the options object: every mistake is a TypeError or
// RangeError that names the option and what it accepts. Types are checked
// here (a bitwidth is an int32, as the core's field is); the core owns the
// ranges and limits (bitwidth, minRange, percentile, strict, offsets,
// channel counts: bindings/embind.cpp validateCalibration).

// The names are those of the core's enums (bindings/embind.cpp), except
// 'symmetric', which is 'tf' with symmetric: true.
export const ROUNDINGS = Object.freeze(['half-up', 'half-even']);
const NON_FINITE = Object.freeze(['error', 'saturate']);
export const SCHEMES = Object.freeze(['tf', 'symmetric', 'tf_enhanced', 'percentile']);

const DEFAULTS = Object.freeze({
  bitwidth: 8,
  scheme: 'tf',
  symmetric: false,
  strict: false,
  unsignedSymmetric: false,
  percentile: 99.99,
  rounding: 'half-up',
  minRange: 0.01,
  nonFinite: 'error',
  pack: false,
});
const KNOWN = Object.keys(DEFAULTS).concat('shape', 'axis', 'encoding', 'out');

function fail(ErrorClass, message) {
  throw new ErrorClass(`wasmquant: ${message}`);
}

export function describe(value) {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'bigint') return `the BigInt ${value}n`;
  if (value === null) return 'null';
  if (typeof value === 'object') return value.constructor?.name ?? 'object';
  return String(value);
}

// Embind would truncate a fraction and wrap a value beyond int32 into the
// range the core accepts, so those never reach it.
export function checkBitwidth(value, name = 'bitwidth') {
  if (typeof value !== 'number') fail(TypeError, `${name} must be an integer, got ${describe(value)}`);
  if ((value | 0) !== value) fail(RangeError, `${name} must be an integer, got ${describe(value)}`);
  return value;
}

export function checkChoice(name, value, choices) {
  if (!choices.includes(value)) {
    const ErrorClass = typeof value === 'string' ? RangeError : TypeError;
    fail(ErrorClass, `${name} must be one of ${choices.map((c) => `'${c}'`).join(', ')}, got ${describe(value)}`);
  }
  return value;
}

function checkNumber(name, value) {
  if (typeof value !== 'number') fail(TypeError, `${name} must be a number, got ${describe(value)}`);
  return value;
}

// Checks that options is an object with no keys but the known ones, so that
// a misspelt option is an error rather than silently ignored.
export function checkOptionsObject(options, known, what = 'options') {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    fail(TypeError, `${what} must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      fail(TypeError, `unknown option '${key}' in ${what}; the options are ${known.join(', ')}`);
    }
  }
  return options;
}

// Returns the options with defaults filled in and enums by the core's names.
export function parseOptions(options) {
  options = checkOptionsObject(options, KNOWN);
  const o = { ...DEFAULTS };
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) o[key] = value;
  }
  const scheme = checkChoice('scheme', o.scheme, SCHEMES);
  const symmetric = checkBoolean('symmetric', o.symmetric) || scheme === 'symmetric';
  const bitwidth = checkBitwidth(o.bitwidth);
  checkBoolean('pack', o.pack);
  checkBoolean('strict', o.strict);
  if (options.percentile !== undefined && scheme !== 'percentile') {
    fail(RangeError, `percentile applies to scheme 'percentile', not '${scheme}'`);
  }
  return {
    bitwidth,
    scheme: scheme === 'symmetric' ? 'tf' : scheme,
    symmetric,
    strict: o.strict,
    unsignedSymmetric: checkBoolean('unsignedSymmetric', o.unsignedSymmetric),
    percentile: checkNumber('percentile', o.percentile),
    rounding: checkChoice('rounding', o.rounding, ROUNDINGS),
    minRange: checkNumber('minRange', o.minRange),
    nonFinite: checkChoice('nonFinite', o.nonFinite, NON_FINITE),
    pack: o.pack,
    shape: o.shape,
    axis: o.axis,
    encoding: o.encoding,
    out: o.out,
    bitwidthGiven: options.bitwidth !== undefined,
  };
}

function checkBoolean(name, value) {
  if (typeof value !== 'boolean') fail(TypeError, `${name} must be true or false, got ${describe(value)}`);
  return value;
}

// The tensor as [outer, channels, inner] for per-channel work (SPEC §3.2),
// from options.shape and options.axis; per tensor: channels 1, inner 0
// (the core's "one run").
export function channelLayout(o, length) {
  if (o.shape === undefined) {
    if (o.axis !== undefined) fail(TypeError, "axis needs shape: give the tensor's shape too");
    return { channels: 1, inner: 0, outer: 1, perChannel: false };
  }
  const { shape } = o;
  if (!Array.isArray(shape) && !ArrayBuffer.isView(shape)) {
    fail(TypeError, `shape must be an array of dimension sizes, got ${describe(shape)}`);
  }
  let product = 1;
  for (const [i, d] of Array.from(shape).entries()) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
      fail(RangeError, `shape[${i}] must be a non-negative integer, got ${describe(d)}`);
    }
    product *= d;
  }
  if (length !== undefined && product !== length) {
    fail(RangeError, `shape [${Array.from(shape).join(', ')}] holds ${product} elements, but the tensor has ${length}`);
  }
  if (o.axis === undefined) return { channels: 1, inner: 0, outer: 1, perChannel: false };
  const rank = shape.length;
  if (typeof o.axis !== 'number' || !Number.isInteger(o.axis)) {
    fail(TypeError, `axis must be an integer, got ${describe(o.axis)}`);
  }
  if (o.axis < -rank || o.axis >= rank) {
    fail(RangeError, `axis must be from ${-rank} to ${rank - 1} for a shape of rank ${rank}, got ${o.axis}`);
  }
  const axis = o.axis < 0 ? o.axis + rank : o.axis;
  const dims = Array.from(shape);
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const channels = dims[axis];
  return { channels, inner: Math.max(inner, 1), outer, axis, perChannel: true };
}

export function checkFiniteNumber(name, value) {
  if (typeof value !== 'number') fail(TypeError, `${name} must be a number, got ${describe(value)}`);
  if (!Number.isFinite(value)) fail(RangeError, `${name} must be finite, got ${describe(value)}`);
  return value;
}

// A caller's encoding in the shape the core takes; the core checks the
// ranges and derives min/max from scale and offset.
export function encodingForCore(encoding, name = 'encoding') {
  if (encoding === null || typeof encoding !== 'object' || Array.isArray(encoding)) {
    fail(TypeError, `${name} must be an object { bitwidth, scale, offset, ... }, got ${describe(encoding)}`);
  }
  const bitwidth = checkBitwidth(encoding.bitwidth, `${name}.bitwidth`);
  if (encoding.scale === undefined && encoding.offset === undefined && encoding.min !== undefined) {
    // A range to be nudged onto a grid (SPEC §2), as QNN does with min/max
    // overrides; the caller computes it with the core.
    const min = checkFiniteNumber(`${name}.min`, encoding.min);
    const max = checkFiniteNumber(`${name}.max`, encoding.max);
    if (min > max) fail(RangeError, `${name}.min (${min}) must not be greater than ${name}.max (${max})`);
    return { range: true, bitwidth, min, max, isSymmetric: encoding.isSymmetric === true };
  }
  const scale = checkFiniteNumber(`${name}.scale`, encoding.scale);
  const offset = checkFiniteNumber(`${name}.offset`, encoding.offset);
  if ((offset | 0) !== offset) fail(RangeError, `${name}.offset must be an integer, got ${offset}`);
  if (encoding.isSymmetric !== undefined && typeof encoding.isSymmetric !== 'boolean') {
    fail(TypeError, `${name}.isSymmetric must be a boolean, got ${describe(encoding.isSymmetric)}`);
  }
  return { bitwidth, min: 0, max: 0, scale, offset, isSymmetric: encoding.isSymmetric === true };
}
