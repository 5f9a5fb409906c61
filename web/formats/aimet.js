// AIMET encodings files (SPEC §5), the JSON that qnn-*-converter and
// snpe-*-converter take as --quantization_overrides:
// - 0.6.1: param_encodings / activation_encodings are objects
//   { tensor: [ {bitwidth, dtype: "int", is_symmetric: "True"|"False", max, min, offset, scale}, ... ] },
//   one list entry per channel; is_symmetric is a *string*.
// - 1.0.0: they are lists of { name, dtype: "INT", enc_type: "PER_TENSOR"|"PER_CHANNEL"
//   (or "PER_BLOCK" with block_size, written for block-wise weights), bw, is_sym,
//   scale: [...], offset: [...] }, without min/max.
// Offsets are in the QNN convention everywhere: x̂ = (q + offset) · scale.
import { EncodingTable } from '../rows.js';
import { describe, fail, isPlainObject, parseJson } from './common.js';

const VERSIONS = ['0.6.1', '1.0.0'];
const SECTIONS = ['param_encodings', 'activation_encodings'];

// where: the place for messages, or a function making it, so that a million
// block encodings that pass build no strings.
const placeOf = (where) => (typeof where === 'function' ? where() : where);
const at = (where, field) => `${placeOf(where)}: field "${field}"`;

function checkBitwidth(where, field, value) {
  if (typeof value !== 'number') {
    fail(TypeError, `${at(where, field)} must be an integer from 2 to 16, got ${describe(value)}`);
  }
  if (!Number.isInteger(value) || value < 2 || value > 16) {
    fail(RangeError, `${at(where, field)} must be an integer from 2 to 16, got ${value}`);
  }
  return value;
}

function checkScale(where, field, value) {
  if (typeof value !== 'number') {
    fail(TypeError, `${at(where, field)} must be a positive number, got ${describe(value)}`);
  }
  if (!(value > 0) || !Number.isFinite(value)) {
    fail(RangeError, `${at(where, field)} must be a positive number, got ${value}`);
  }
  return value;
}

function checkOffset(where, field, value, bitwidth) {
  const steps = 2 ** bitwidth - 1;
  if (typeof value !== 'number') {
    fail(TypeError, `${at(where, field)} must be an integer from -${steps} to 0, got ${describe(value)}`);
  }
  if (!Number.isInteger(value) || value < -steps || value > 0) {
    fail(
      RangeError,
      `${at(where, field)} must be an integer from -${steps} to 0 for bitwidth ${bitwidth} (QNN convention: x = (q + offset) * scale), got ${value}`,
    );
  }
  return value + 0; // no -0
}

function checkFinite(where, field, value) {
  if (typeof value !== 'number') fail(TypeError, `${at(where, field)} must be a number, got ${describe(value)}`);
  if (!Number.isFinite(value)) fail(RangeError, `${at(where, field)} must be finite, got ${value}`);
  return value;
}

// AIMET writes "True"/"False" (Python's str(bool)); hand-written files
// often have JSON booleans. Missing means asymmetric.
function checkSymmetric(where, field, value) {
  if (value === undefined || typeof value === 'boolean') return value === true;
  if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  return fail(TypeError, `${at(where, field)} must be "True" or "False", got ${describe(value)}`);
}

// The dtype of an entry: only integer encodings can be applied.
function checkIntDtype(where, value) {
  if (value === undefined || (typeof value === 'string' && value.toLowerCase() === 'int')) return;
  if (typeof value === 'string' && value.toLowerCase() === 'float') {
    fail(Error, `${at(where, 'dtype')} is "${value}": float encodings cannot be applied by wasmquant, which quantizes to integers`);
  }
  fail(Error, `${at(where, 'dtype')} must be "int", got ${describe(value)}`);
}

// min/max from scale and offset: min = offset·scale, max = min + steps·scale
// (SPEC §1); symmetric grids (offset −2^(b−1) or, strict, −(2^(b−1) − 1))
// end at (2^(b−1) − 1)·scale (SPEC §3.1).
function rangeOf(bitwidth, scale, offset, isSymmetric) {
  const min = offset * scale;
  const half = 2 ** (bitwidth - 1) - 1;
  const symmetricGrid = isSymmetric && (offset === -half || offset === -half - 1);
  return { min, max: symmetricGrid ? half * scale : min + (2 ** bitwidth - 1) * scale };
}

// --- Writing

function checkEncoding(where, encoding) {
  if (!isPlainObject(encoding)) {
    fail(TypeError, `${placeOf(where)} must be an encoding object { bitwidth, scale, offset, ... }, got ${describe(encoding)}`);
  }
  const bitwidth = checkBitwidth(where, 'bitwidth', encoding.bitwidth);
  const scale = checkScale(where, 'scale', encoding.scale);
  const offset = checkOffset(where, 'offset', encoding.offset, bitwidth);
  if (encoding.isSymmetric !== undefined && typeof encoding.isSymmetric !== 'boolean') {
    fail(TypeError, `${at(where, 'isSymmetric')} must be a boolean, got ${describe(encoding.isSymmetric)}`);
  }
  const isSymmetric = encoding.isSymmetric === true;
  const range = rangeOf(bitwidth, scale, offset, isSymmetric);
  const min = encoding.min === undefined ? range.min : checkFinite(where, 'min', encoding.min);
  const max = encoding.max === undefined ? range.max : checkFinite(where, 'max', encoding.max);
  return { bitwidth, min, max, scale, offset, isSymmetric };
}

// One tensor's encodings, checked, as a table (one row per channel), and
// whether it is per-channel.
function channelsOf(name, value) {
  const where = `toAimetEncodings: tensor ${JSON.stringify(name)}`;
  if (!Array.isArray(value)) return { perChannel: false, table: EncodingTable.ofObjects([checkEncoding(where, value)]) };
  if (value.length === 0) fail(RangeError, `${where}: the per-channel list of encodings is empty`);
  return { perChannel: true, table: EncodingTable.ofObjects(value.map((e, i) => checkEncoding(() => `${where} channel ${i}`, e))) };
}

function legacyEntry(table, i) {
  return {
    bitwidth: table.bitwidth(i),
    dtype: 'int',
    is_symmetric: table.isSymmetric(i) ? 'True' : 'False',
    max: table.max(i),
    min: table.min(i),
    offset: table.offset(i),
    scale: table.scale(i),
  };
}

function legacyEntries(table) {
  const list = new Array(table.length);
  for (let i = 0; i < table.length; i += 1) list[i] = legacyEntry(table, i);
  return list;
}

function v1Entry(name, { perChannel, blockSize, table }) {
  for (let i = 1; i < table.length; i += 1) {
    if (table.bitwidth(i) !== table.bitwidth(0) || table.isSymmetric(i) !== table.isSymmetric(0)) {
      fail(
        RangeError,
        `toAimetEncodings: tensor ${JSON.stringify(name)} channel ${i}: version 1.0.0 has one bitwidth and one isSymmetric per tensor, but channel ${i} differs from channel 0`,
      );
    }
  }
  const blocked = blockSize !== undefined && blockSize !== null;
  return {
    name,
    dtype: 'INT',
    enc_type: blocked ? 'PER_BLOCK' : perChannel ? 'PER_CHANNEL' : 'PER_TENSOR',
    is_sym: table.isSymmetric(0),
    bw: table.bitwidth(0),
    ...(blocked ? { block_size: blockSize } : {}),
    scale: Array.from(table.column('scale', Float64Array)),
    offset: Array.from(table.column('offset', Float64Array)),
  };
}

function quantizerArgsOf(tensors) {
  let symmetric = tensors.length > 0;
  let bitwidth = tensors.length > 0 ? 0 : 8;
  for (const [, { table }] of tensors) {
    for (let i = 0; i < table.length; i += 1) {
      symmetric &&= table.isSymmetric(i);
      bitwidth = Math.max(bitwidth, table.bitwidth(i));
    }
  }
  return {
    activation_bitwidth: 8,
    dtype: 'int',
    is_symmetric: symmetric,
    param_bitwidth: bitwidth,
    per_channel_quantization: tensors.some(([, t]) => t.perChannel),
    quant_scheme: 'post_training_tf',
  };
}

/**
 * The AIMET encodings object of tensors [[name, { perChannel, blockSize,
 * table }], ...] whose EncodingTables hold valid encodings (the core's), as
 * toAimetEncodings makes it; for wasmquant/models, which keeps a weight's
 * million block encodings as a table. Block-wise tensors (blockSize set)
 * are 1.0.0 PER_BLOCK entries, scales in the row-major order of the scale
 * tensor (the weight's shape with the blocked axis divided into blocks);
 * 0.6.1 has no block form, so there they are left out.
 */
export function aimetOfTables(tensors, version = '0.6.1') {
  const quantizerArgs = quantizerArgsOf(tensors);
  if (version === '0.6.1') {
    const expressible = tensors.filter(([, t]) => t.blockSize === undefined || t.blockSize === null);
    return {
      version,
      activation_encodings: {},
      param_encodings: Object.fromEntries(expressible.map(([name, t]) => [name, legacyEntries(t.table)])),
      excluded_layers: [],
      quantizer_args: quantizerArgs,
    };
  }
  return {
    version,
    activation_encodings: [],
    param_encodings: tensors.map(([name, t]) => v1Entry(name, t)),
    excluded_layers: [],
    quantizer_args: quantizerArgs,
  };
}

/**
 * The activation_encodings section of the given version for
 * [{ name, encoding }] (per tensor, the core's), in that order.
 */
export function activationEncodings(activations, version = '0.6.1') {
  const tables = activations.map(({ name, encoding }) => [name, { perChannel: false, table: EncodingTable.ofObjects([encoding]) }]);
  if (version === '0.6.1') return Object.fromEntries(tables.map(([name, t]) => [name, legacyEntries(t.table)]));
  return tables.map(([name, t]) => v1Entry(name, t));
}

/**
 * Encodings { tensorName: encoding | encoding[] } (an array: per channel)
 * as an AIMET encodings object, ready for JSON.stringify. They become
 * param_encodings; options.version is '0.6.1' (default) or '1.0.0'.
 */
export function toAimetEncodings(encodings, options) {
  if (!isPlainObject(encodings)) {
    fail(TypeError, `toAimetEncodings: encodings must be an object { tensorName: encoding or encoding[] }, got ${describe(encodings)}`);
  }
  if (options !== undefined && !isPlainObject(options)) {
    fail(TypeError, `toAimetEncodings: options must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options ?? {})) {
    if (key !== 'version') fail(TypeError, `toAimetEncodings: unknown option '${key}'; the only option is version`);
  }
  const version = options?.version ?? '0.6.1';
  if (!VERSIONS.includes(version)) {
    fail(RangeError, `toAimetEncodings: version must be '0.6.1' or '1.0.0', got ${describe(version)}`);
  }
  return aimetOfTables(
    Object.entries(encodings).map(([name, value]) => [name, channelsOf(name, value)]),
    version,
  );
}

// --- Reading

function readLegacyEntry(where, entry) {
  if (!isPlainObject(entry)) {
    fail(TypeError, `${where} must be an object {bitwidth, scale, offset, ...}, got ${describe(entry)}`);
  }
  checkIntDtype(where, entry.dtype);
  // QNN overrides often give a range only: {bitwidth, min, max}. That is an
  // encoding the quantizer still has to nudge (SPEC §2), so it stays a range.
  if (entry.scale === undefined && entry.offset === undefined && entry.min !== undefined && entry.max !== undefined) {
    if (entry.bitwidth === undefined) fail(TypeError, `${at(where, 'bitwidth')} is missing`);
    return {
      bitwidth: checkBitwidth(where, 'bitwidth', entry.bitwidth),
      min: checkFinite(where, 'min', entry.min),
      max: checkFinite(where, 'max', entry.max),
      isSymmetric: checkSymmetric(where, 'is_symmetric', entry.is_symmetric),
    };
  }
  for (const field of ['bitwidth', 'scale', 'offset']) {
    if (entry[field] === undefined) fail(TypeError, `${at(where, field)} is missing`);
  }
  const bitwidth = checkBitwidth(where, 'bitwidth', entry.bitwidth);
  const scale = checkScale(where, 'scale', entry.scale);
  const offset = checkOffset(where, 'offset', entry.offset, bitwidth);
  const isSymmetric = checkSymmetric(where, 'is_symmetric', entry.is_symmetric);
  const range = rangeOf(bitwidth, scale, offset, isSymmetric);
  const min = entry.min === undefined ? range.min : checkFinite(where, 'min', entry.min);
  const max = entry.max === undefined ? range.max : checkFinite(where, 'max', entry.max);
  return { bitwidth, min, max, scale, offset, isSymmetric };
}

// 0.6.1: { tensor: [entry, ...] }; a bare entry (hand-written files) is one.
function readLegacySection(section, value, add) {
  if (!isPlainObject(value)) {
    fail(Error, `encodings file: "${section}" must be an object { tensor: [encoding, ...] } in version 0.6.1, got ${describe(value)}`);
  }
  for (const [name, list] of Object.entries(value)) {
    const where = `encodings file: tensor ${JSON.stringify(name)}`;
    if (!Array.isArray(list)) {
      add(name, readLegacyEntry(where, list));
    } else if (list.length === 0) {
      fail(Error, `${where}: the list of encodings is empty`);
    } else if (list.length === 1) {
      add(name, readLegacyEntry(where, list[0]));
    } else {
      add(
        name,
        list.map((e, i) => readLegacyEntry(`${where} channel ${i}`, e)),
      );
    }
  }
}

const asList = (value) => (typeof value === 'number' ? [value] : value);

function readV1Entry(section, index, entry) {
  if (!isPlainObject(entry)) {
    fail(TypeError, `encodings file: ${section}[${index}] must be an object { name, bw, scale, offset, ... }, got ${describe(entry)}`);
  }
  if (typeof entry.name !== 'string' || entry.name === '') {
    fail(TypeError, `encodings file: ${section}[${index}]: field "name" must be a tensor name, got ${describe(entry.name)}`);
  }
  const where = `encodings file: tensor ${JSON.stringify(entry.name)}`;
  checkIntDtype(where, entry.dtype);
  for (const field of ['bw', 'scale', 'offset']) {
    if (entry[field] === undefined) fail(TypeError, `${at(where, field)} is missing`);
  }
  const bitwidth = checkBitwidth(where, 'bw', entry.bw);
  const isSymmetric = checkSymmetric(where, 'is_sym', entry.is_sym);
  const scales = asList(entry.scale);
  const offsets = asList(entry.offset);
  for (const [field, list] of [
    ['scale', scales],
    ['offset', offsets],
  ]) {
    if (!Array.isArray(list) || list.length === 0) {
      fail(TypeError, `${at(where, field)} must be a non-empty list of numbers, got ${describe(list)}`);
    }
  }
  if (scales.length !== offsets.length) {
    fail(Error, `${where}: fields "scale" and "offset" must have one entry per channel, but have ${scales.length} and ${offsets.length}`);
  }
  const encType = entry.enc_type ?? (scales.length === 1 ? 'PER_TENSOR' : 'PER_CHANNEL');
  if (encType !== 'PER_TENSOR' && encType !== 'PER_CHANNEL') {
    fail(Error, `${at(where, 'enc_type')} is ${describe(encType)}; only "PER_TENSOR" and "PER_CHANNEL" encodings can be applied`);
  }
  if (encType === 'PER_TENSOR' && scales.length !== 1) {
    fail(Error, `${where}: enc_type "PER_TENSOR" needs one scale and offset, got ${scales.length}`);
  }
  const channels = scales.map((s, i) => {
    const at1 = scales.length > 1 ? `${where} channel ${i}` : where;
    const scale = checkScale(at1, 'scale', s);
    const offset = checkOffset(at1, 'offset', offsets[i], bitwidth);
    return { bitwidth, ...rangeOf(bitwidth, scale, offset, isSymmetric), scale, offset, isSymmetric };
  });
  return [entry.name, encType === 'PER_TENSOR' ? channels[0] : channels];
}

function readV1Section(section, value, add) {
  if (!Array.isArray(value)) {
    fail(Error, `encodings file: "${section}" must be a list of encodings in version 1.0.0, got ${describe(value)}`);
  }
  value.forEach((entry, i) => add(...readV1Entry(section, i, entry)));
}

/**
 * Reads an AIMET encodings file (0.6.1 or 1.0.0; the object or its JSON
 * text) into { tensorName: encoding | encoding[] }, param and activation
 * encodings together. One encoding per tensor gives an object, several (per
 * channel; in 1.0.0 any PER_CHANNEL entry) an array. 1.0.0 files carry no
 * min/max: they are derived from scale and offset.
 */
export function fromAimetEncodings(file) {
  if (typeof file === 'string') file = parseJson(file, 'encodings file');
  if (!isPlainObject(file)) {
    fail(TypeError, `fromAimetEncodings: expected an encodings object or its JSON text, got ${describe(file)}`);
  }
  const present = SECTIONS.filter((s) => file[s] !== undefined);
  if (present.length === 0) fail(Error, 'encodings file has neither "param_encodings" nor "activation_encodings"');
  let { version } = file;
  if (version === undefined) {
    version = Array.isArray(file[present[0]]) ? '1.0.0' : '0.6.1';
  } else if (!VERSIONS.includes(version)) {
    fail(Error, `encodings file: version ${describe(version)} is not supported; supported: ${VERSIONS.join(', ')}`);
  }
  const result = new Map();
  const add = (name, encoding) => {
    if (result.has(name)) fail(Error, `encodings file: tensor ${JSON.stringify(name)} has encodings twice`);
    result.set(name, encoding);
  };
  for (const section of present) {
    if (version === '0.6.1') readLegacySection(section, file[section], add);
    else readV1Section(section, file[section], add);
  }
  return Object.fromEntries(result);
}
