// Validation of the options object: every mistake is a TypeError or
// RangeError that names the option and what it accepts.

export const ROUNDINGS = Object.freeze({ 'half-up': 0, 'half-even': 1 });
export const NON_FINITE = Object.freeze({ error: 0, saturate: 1 });
export const SCHEMES = Object.freeze(['tf']);

const DEFAULTS = Object.freeze({
  bitwidth: 8,
  scheme: 'tf',
  rounding: 'half-up',
  minRange: 0.01,
  nonFinite: 'error',
});
const KNOWN = Object.keys(DEFAULTS).concat('encoding', 'out');

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

export function checkBitwidth(value, name = 'bitwidth') {
  if (typeof value !== 'number') {
    fail(TypeError, `${name} must be a number (an integer from 2 to 16), got ${describe(value)}`);
  }
  if (!Number.isInteger(value) || value < 2 || value > 16) {
    fail(RangeError, `${name} must be an integer from 2 to 16, got ${describe(value)}`);
  }
  return value;
}

export function checkChoice(name, value, choices) {
  if (!choices.includes(value)) {
    const ErrorClass = typeof value === 'string' ? RangeError : TypeError;
    fail(ErrorClass, `${name} must be one of ${choices.map((c) => `'${c}'`).join(', ')}, got ${describe(value)}`);
  }
  return value;
}

function checkMinRange(value) {
  if (typeof value !== 'number') fail(TypeError, `minRange must be a number, got ${describe(value)}`);
  if (!(value > 0) || !Number.isFinite(value)) {
    fail(RangeError, `minRange must be a finite number greater than 0, got ${describe(value)}`);
  }
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

// Returns the options with defaults filled in and enums as the core's ints.
export function parseOptions(options) {
  options = checkOptionsObject(options, KNOWN);
  const o = { ...DEFAULTS };
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) o[key] = value;
  }
  return {
    bitwidth: checkBitwidth(o.bitwidth),
    scheme: checkChoice('scheme', o.scheme, SCHEMES),
    rounding: ROUNDINGS[checkChoice('rounding', o.rounding, Object.keys(ROUNDINGS))],
    minRange: checkMinRange(o.minRange),
    nonFinite: NON_FINITE[checkChoice('nonFinite', o.nonFinite, Object.keys(NON_FINITE))],
    encoding: o.encoding,
    out: o.out,
    bitwidthGiven: options.bitwidth !== undefined,
  };
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
  const scale = checkFiniteNumber(`${name}.scale`, encoding.scale);
  const offset = checkFiniteNumber(`${name}.offset`, encoding.offset);
  const steps = 2 ** bitwidth - 1;
  if (!Number.isInteger(offset) || offset < -steps || offset > 0) {
    fail(RangeError, `${name}.offset must be an integer from -${steps} to 0 for bitwidth ${bitwidth}, got ${offset}`);
  }
  if (encoding.isSymmetric !== undefined && typeof encoding.isSymmetric !== 'boolean') {
    fail(TypeError, `${name}.isSymmetric must be a boolean, got ${describe(encoding.isSymmetric)}`);
  }
  if (encoding.isSymmetric) {
    fail(RangeError, `${name}.isSymmetric: symmetric encodings are not supported by this version`);
  }
  return { bitwidth, min: 0, max: 0, scale, offset, isSymmetric: false };
}
