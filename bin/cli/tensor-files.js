// .npy and .safetensors files through the core quantizer, with results
// shaped like wasmquant/models' (rows, totals, notes, files, encodings) so
// the CLI prints and writes both kinds of input the same way.
import { readNpy, readSafetensors, toAimetEncodings, writeNpy, writeSafetensors } from '../../web/index.js';

const FLOAT_DTYPES = new Set(['float32', 'float16', 'bfloat16', 'float64']);
const BYTES_PER_ELEMENT = { float32: 4, float16: 2, bfloat16: 2, float64: 8, uint8: 1, int8: 1, uint16: 2, int16: 2 };

export const isTensorFile = (name) => /\.(npy|safetensors)$/i.test(name);

// Same semantics as the model API's keep globs: the whole name, '*' and '?'.
function globToRegExp(glob) {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

function fail(message) {
  throw new RangeError(`wasmquant: ${message}`);
}

function readTensors(name, bytes) {
  if (/\.npy$/i.test(name)) {
    const t = readNpy(bytes);
    // An .npy holds one unnamed array; its encodings are keyed by the file's base name.
    return { format: 'npy', tensors: { [name.replace(/\.npy$/i, '')]: t }, metadata: undefined };
  }
  const { tensors, metadata } = readSafetensors(bytes);
  return { format: 'safetensors', tensors, metadata };
}

function decideTensor(tensorName, t, o, keepers) {
  const count = t.shape.reduce((a, b) => a * b, 1);
  if (!FLOAT_DTYPES.has(t.dtype)) return { action: 'keep', reason: `${t.dtype} is not a float type` };
  if (keepers.some((re) => re.test(tensorName))) return { action: 'keep', reason: 'matched --keep' };
  if (o.minElements !== undefined && count < o.minElements) return { action: 'keep', reason: `under ${o.minElements} values` };
  if (count === 0) return { action: 'keep', reason: 'empty' };
  const perChannel = o.perChannel === true && t.shape.length >= 2;
  return { action: 'quantize', axis: perChannel ? 0 : null, note: o.perChannel === true && !perChannel ? 'rank < 2: per tensor' : undefined };
}

// options: bitwidth, scheme, rounding, perChannel, keep (globs), minElements,
// encodingsVersion. With write, also returns { files, encodings }.
export async function processTensorFile({ name, bytes, options, quantizer: wq, write, onProgress = () => {} }) {
  for (const [key, flag] of [
    ['format', '--format'],
    ['blockSize', '--block-size'],
    ['requantize', '--requantize'],
  ]) {
    if (options[key] !== undefined) fail(`${name}: ${flag} applies to models, not to tensor files`);
  }
  const { format, tensors, metadata } = readTensors(name, bytes);
  const keepers = (options.keep ?? []).map(globToRegExp);
  const base = {
    bitwidth: options.bitwidth ?? 8,
    scheme: options.scheme ?? 'tf',
    ...(options.rounding !== undefined && { rounding: options.rounding }),
  };
  const rows = [];
  const encodings = {};
  const out = {};
  const widened = [];
  const entries = Object.entries(tensors);
  for (const [i, [tensorName, t]] of entries.entries()) {
    onProgress({ phase: 'quantize', done: i, total: entries.length, name: tensorName });
    // The progress bar redraws on a timer, which a synchronous loop starves.
    await new Promise((resolve) => setImmediate(resolve));
    const count = t.shape.reduce((a, b) => a * b, 1);
    const bytesBefore = count * BYTES_PER_ELEMENT[t.dtype];
    const row = { name: tensorName, op: '-', shape: t.shape, dtype: t.dtype, count };
    const d = decideTensor(tensorName, t, options, keepers);
    if (d.action === 'keep') {
      rows.push({ ...row, action: 'keep', reason: d.reason, bytesBefore, bytesAfter: bytesBefore });
      // readSafetensors widens float16/bfloat16/float64 to a Float32Array,
      // which writeSafetensors only writes as float32.
      out[tensorName] = FLOAT_DTYPES.has(t.dtype) ? { data: t.data, shape: t.shape } : { data: t.data, shape: t.shape, dtype: t.dtype };
      if (FLOAT_DTYPES.has(t.dtype) && t.dtype !== 'float32') widened.push(tensorName);
      continue;
    }
    const q = d.axis === null ? base : { ...base, shape: t.shape, axis: d.axis };
    let report;
    let result;
    try {
      report = wq.analyze(t.data, q);
      if (write) result = wq.quantize(t.data, q);
    } catch (e) {
      throw new e.constructor(`wasmquant: ${name}: tensor "${tensorName}": ${String(e.message).replace(/^wasmquant: /, '')}`);
    }
    const encoding = result?.encoding ?? report.encoding;
    const symmetric = (Array.isArray(encoding) ? encoding[0] : encoding).isSymmetric;
    rows.push({
      ...row,
      action: 'quantize',
      scheme: base.scheme,
      bitwidth: base.bitwidth,
      symmetric,
      axis: d.axis,
      blockSize: null,
      storage: `${symmetric ? 'int' : 'uint'}${base.bitwidth}`,
      ...(d.note && { note: d.note }),
      sqnrDb: report.sqnrDb,
      bytesBefore,
      // Codes are written unpacked: one byte up to 8 bits, two above.
      bytesAfter: count * (base.bitwidth > 8 ? 2 : 1),
    });
    encodings[tensorName] = encoding;
    if (write) out[tensorName] = { data: result.codes, shape: t.shape };
  }
  onProgress({ phase: 'quantize', done: entries.length, total: entries.length, name });
  const notes = [];
  if (base.bitwidth < 8 && rows.some((r) => r.action === 'quantize')) notes.push(`${base.bitwidth}-bit codes are stored one per byte`);
  if (write && widened.length > 0)
    notes.push(
      `kept ${widened.join(', ')} written as float32 (read as float32 from ${[...new Set(widened.map((n) => tensors[n].dtype))].join('/')})`,
    );
  const sum = (key) => rows.reduce((a, r) => a + r[key], 0);
  const totals = {
    weights: rows.length,
    quantized: rows.filter((r) => r.action === 'quantize').length,
    kept: rows.filter((r) => r.action === 'keep').length,
    bytesBefore: sum('bytesBefore'),
    bytesAfter: sum('bytesAfter'),
  };
  const inspection = { format, model: name, tensors: rows, totals, notes };
  if (!write) return inspection;
  if (format === 'npy' && totals.quantized === 0) fail(`${name}: nothing to quantize: ${rows[0].reason}`);
  const fileBytes = format === 'npy' ? writeNpy(Object.values(out)[0].data, Object.values(out)[0].shape) : writeSafetensors(out, metadata);
  return {
    ...inspection,
    files: { [name]: fileBytes },
    encodings: toAimetEncodings(encodings, { version: options.encodingsVersion ?? '0.6.1' }),
  };
}
