// The demo's work, run inside the package's worker (wasmquant/worker loads
// this module with its `extend` method). Every exported function is a worker
// method, called as fn(context, ...args) with context { quantizer, api,
// progress }. The tensors stay here, next to the quantizer; the page only
// ever receives numbers, histograms and the bytes of a download.
//
// This module does not import the package: it gets it through the context.
import { formatBytes } from './format.js';
import { mulberry32 } from './random.js';

const READ_CHUNK = 16 << 20; // bytes per File.slice while reading
const RUN = 1 << 20; // elements per quantize/dequantize round trip
const SAMPLED = 1 << 22; // values behind the histograms of a big tensor
const HIST_BINS = 240;
const ERR_BINS = 96;
const ERR_RANGE = 1.5; // error histogram spans ±1.5 steps; beyond are the tails
const COMPARE_SCHEMES = ['tf', 'symmetric', 'tf_enhanced', 'percentile'];
const COMPARE_BITWIDTHS = [4, 8, 16];
const BYTES = { float32: 4, float16: 2, bfloat16: 2, float64: 8, uint8: 1, int8: 1, uint16: 2, int16: 2 };

let source = null; // { name, kind, tensors: Map(name → tensor) }
const reports = new Map(); // analyze() results by tensor + options (small objects)

// ------------------------------------------------------------------ files

function fail(message) {
  throw new Error(message);
}

function sniff(bytes, fileName) {
  if (bytes.length >= 6 && bytes[0] === 0x93 && String.fromCharCode(...bytes.subarray(1, 6)) === 'NUMPY') return 'npy';
  const ext = /\.([a-z0-9]+)$/i.exec(fileName)?.[1]?.toLowerCase();
  if (ext === 'npy') return 'npy';
  if (ext === 'safetensors' || ext === 'st') return 'safetensors';
  if (bytes.length >= 9 && bytes[8] === 0x7b && bytes[4] === 0 && bytes[5] === 0 && bytes[6] === 0 && bytes[7] === 0) {
    return 'safetensors';
  }
  if (ext === 'bin' || ext === 'raw' || ext === 'f32') return 'bin';
  return fail(
    `"${fileName}" is not a file this page reads: give a .npy, a .safetensors or a raw float32 .bin (with its shape)`,
  );
}

function parseShape(text, count) {
  const t = String(text ?? '').trim();
  if (t === '') return [count];
  const parts = t.replace(/^[[(]|[\])]$/g, '').split(/[\s,x×]+/).filter(Boolean);
  const shape = parts.map(Number);
  if (shape.length === 0 || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    fail(`shape "${t}" is not a list of non-negative integers such as 64, 3, 3, 3`);
  }
  const product = shape.reduce((a, b) => a * b, 1);
  if (product !== count) {
    fail(`shape [${shape.join(', ')}] has ${product.toLocaleString('en-US')} elements, but the file holds ${count.toLocaleString('en-US')} float32 values`);
  }
  return shape;
}

function tensorOf(name, { data, dtype, shape }) {
  // The quantizer takes float32: other dtypes are widened (readers already
  // widen float16, bfloat16 and float64).
  const values = data instanceof Float32Array ? data : Float32Array.from(data);
  return { name, dtype, shape: [...shape], data: values, bytes: values.length * (BYTES[dtype] ?? 4) };
}

function describeSource() {
  return {
    name: source.name,
    kind: source.kind,
    metadata: source.metadata ?? {},
    tensors: [...source.tensors.values()].map((t) => ({
      name: t.name,
      dtype: t.dtype,
      shape: t.shape,
      count: t.data.length,
      bytes: t.bytes,
    })),
  };
}

function replaceSource(next) {
  source = next;
  reports.clear();
  return describeSource();
}

async function readAll(file, progress) {
  let bytes;
  try {
    bytes = new Uint8Array(file.size);
  } catch {
    fail(`"${file.name}" (${formatBytes(file.size)}) does not fit in this tab's memory`);
  }
  for (let at = 0; at < file.size; at += READ_CHUNK) {
    const end = Math.min(file.size, at + READ_CHUNK);
    bytes.set(new Uint8Array(await file.slice(at, end).arrayBuffer()), at);
    progress(end / file.size, `Reading ${file.name}`);
  }
  if (file.size === 0) progress(1, `Reading ${file.name}`);
  return bytes;
}


/**
 * Reads a dropped or picked File (npy, safetensors or raw float32 .bin with
 * `shape`). On any error the previous file stays loaded.
 */
export async function openFile({ api, progress }, file, { shape } = {}) {
  if (!file || typeof file.slice !== 'function') fail('no file was given');
  if (file.size === 0) fail(`"${file.name}" is empty (0 bytes)`);
  const head = new Uint8Array(await file.slice(0, 16).arrayBuffer());
  const kind = sniff(head, file.name);
  if (kind === 'bin' && file.size % 4 !== 0) {
    fail(`"${file.name}" has ${file.size} bytes, not a whole number of float32 values (4 bytes each)`);
  }
  if (kind === 'bin') parseShape(shape, file.size / 4); // before reading hundreds of MB
  const bytes = await readAll(file, progress);
  progress(1, `Parsing ${file.name}`);
  const tensors = new Map();
  let metadata = {};
  if (kind === 'npy') {
    const base = file.name.replace(/\.npy$/i, '') || 'tensor';
    tensors.set(base, tensorOf(base, api.readNpy(bytes)));
  } else if (kind === 'safetensors') {
    const read = api.readSafetensors(bytes);
    metadata = read.metadata;
    for (const [name, t] of Object.entries(read.tensors)) tensors.set(name, tensorOf(name, t));
    if (tensors.size === 0) fail(`"${file.name}" holds no tensors`);
  } else {
    const data = new Float32Array(bytes.buffer, 0, bytes.length / 4);
    const base = file.name.replace(/\.[^.]*$/, '') || 'tensor';
    tensors.set(base, { name: base, dtype: 'float32', shape: parseShape(shape, data.length), data, bytes: bytes.length });
  }
  return replaceSource({ name: file.name, kind, tensors, metadata });
}

/** A raw .bin seen with another shape. */
export function reshape(context, name, shape) {
  const t = source?.tensors.get(name);
  if (!t) fail(`no tensor "${name}" is loaded`);
  if (source.kind !== 'bin') fail('only a raw .bin file takes a shape; .npy and .safetensors carry theirs');
  t.shape = parseShape(shape, t.data.length);
  reports.clear();
  return describeSource();
}

function gaussian(rand) {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** The built-in sample: a small synthetic conv net's tensors, with outliers. */
export function loadSample() {
  const rand = mulberry32(20240611);
  const tensors = new Map();
  const add = (name, shape, fill) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    fill(data);
    tensors.set(name, { name, dtype: 'float32', shape, data, bytes: n * 4 });
  };
  // Conv weights [O, I, kH, kW]: Laplace values whose spread differs per
  // output channel (×8 from first to last), with 0.2 % outliers of 8-16 σ and
  // one channel with a single huge one — where per-tensor 'tf' wastes its grid.
  const [O, I, K] = [64, 32, 3];
  add('conv1.weight', [O, I, K, K], (w) => {
    const inner = I * K * K;
    for (let o = 0; o < O; o += 1) {
      const b = 0.012 * 8 ** (((o * 37) % O) / (O - 1));
      for (let j = 0; j < inner; j += 1) {
        const u = rand() - 0.5;
        let v = -b * Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
        if (rand() < 0.002) v = (rand() < 0.5 ? -1 : 1) * b * (8 + 8 * rand());
        w[o * inner + j] = v;
      }
    }
    w[13 * inner + 100] = 1.9; // the outlier channel
  });
  add('conv1.bias', [O], (b) => b.forEach((_, i) => (b[i] = 0.05 * gaussian(rand))));
  add('fc.weight', [10, 512], (w) => w.forEach((_, i) => (w[i] = 0.045 * gaussian(rand))));
  add('fc.bias', [10], (b) => b.forEach((_, i) => (b[i] = 0.02 * gaussian(rand))));
  // ReLU outputs: non-negative, mostly small, a long tail.
  add('block1.relu', [1, 16, 24, 24], (x) =>
    x.forEach((_, i) => (x[i] = Math.max(0, 0.35 * gaussian(rand) + (rand() < 0.01 ? 3 * rand() ** 2 * 4 : 0.1)))),
  );
  return replaceSource({
    name: 'sample: synthetic conv net (conv weights with outliers)',
    kind: 'sample',
    tensors,
    metadata: {},
  });
}

// ------------------------------------------------------------ quantizing

function tensor(name) {
  const t = source?.tensors.get(name);
  if (!t) fail(`no tensor "${name}" is loaded`);
  if (t.data.length === 0) fail(`tensor "${name}" is empty (shape [${t.shape.join(', ')}]): nothing to quantize`);
  return t;
}

// Settings from the page → options of the API for tensor t.
function optionsFor(t, settings) {
  const o = {
    scheme: settings.scheme,
    bitwidth: settings.bitwidth,
    rounding: settings.rounding,
    nonFinite: 'saturate',
  };
  if (settings.scheme === 'percentile' && settings.percentile !== undefined) o.percentile = settings.percentile;
  const axis = settings.axis;
  if (axis !== null && axis !== undefined && axis !== '' && t.shape.length > 0) {
    if (!(axis >= 0 && axis < t.shape.length)) {
      fail(`axis ${axis} does not exist in tensor "${t.name}" of shape [${t.shape.join(', ')}]`);
    }
    o.shape = t.shape;
    o.axis = axis;
  }
  return o;
}

function analyzed(quantizer, t, o) {
  return analyzedMany(quantizer, t, [o])[0];
}

// The reports not seen before come from one analyzeMany, which shares its
// passes over the data between them.
function analyzedMany(quantizer, t, list) {
  const keys = list.map((o) => `${t.name}\u0000${JSON.stringify(o)}`);
  const found = keys.map((key) => reports.get(key));
  const missing = list.filter((o, i) => found[i] === undefined);
  if (missing.length === 0) return found;
  const fresh = quantizer.analyzeMany(t.data, missing);
  if (reports.size + fresh.length > 2000) reports.clear();
  let next = 0;
  return found.map((report, i) => {
    if (report !== undefined) return report;
    reports.set(keys[i], fresh[next]);
    return fresh[next++];
  });
}

function layoutOf(shape, axis) {
  const channels = shape[axis];
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  return { channels, inner, outer, block: channels * inner };
}

// Splits the tensor into runs that the API can quantize with a given
// encoding: each run is { start, count, encoding, options, channel(j) }.
function* runs(n, o, encoding) {
  if (!Array.isArray(encoding)) {
    for (let s = 0; s < n; s += RUN) yield { start: s, count: Math.min(RUN, n - s), encoding, options: {}, first: 0, inner: Infinity, mod: 1 };
    return;
  }
  const { channels: C, inner, outer, block } = layoutOf(o.shape, o.axis);
  if (block <= RUN) {
    const k = Math.max(1, Math.floor(RUN / block));
    for (let b = 0; b < outer; b += k) {
      const kk = Math.min(k, outer - b);
      yield { start: b * block, count: kk * block, encoding, options: { shape: [kk, C, inner], axis: 1 }, first: 0, inner, mod: C };
    }
    return;
  }
  const g = Math.floor(RUN / inner);
  for (let b = 0; b < outer; b += 1) {
    if (g >= 2) {
      for (let c = 0; c < C; c += g) {
        const gg = Math.min(g, C - c);
        const start = b * block + c * inner;
        if (gg === 1) yield { start, count: inner, encoding: encoding[c], options: {}, first: c, inner: Infinity, mod: Infinity };
        else yield { start, count: gg * inner, encoding: encoding.slice(c, c + gg), options: { shape: [gg, inner], axis: 0 }, first: c, inner, mod: Infinity };
      }
    } else {
      for (let c = 0; c < C; c += 1) {
        for (let s = 0; s < inner; s += RUN) {
          yield { start: b * block + c * inner + s, count: Math.min(RUN, inner - s), encoding: encoding[c], options: {}, first: c, inner: Infinity, mod: Infinity };
        }
      }
    }
  }
}

// The runs of channel c only (each a contiguous stretch of `inner` values).
function* channelRuns(o, encoding, c) {
  const { inner, outer, block } = layoutOf(o.shape, o.axis);
  for (let b = 0; b < outer; b += 1) {
    for (let s = 0; s < inner; s += RUN) {
      yield { start: b * block + c * inner + s, count: Math.min(RUN, inner - s), encoding: encoding[c], options: {}, first: c, inner: Infinity, mod: Infinity };
    }
  }
}

// Quantizes and dequantizes every run; calls visit(run, x, codes, xhat).
function roundTrip(quantizer, t, o, encoding, list, visit, progress) {
  const all = [...list];
  all.forEach((run, i) => {
    const x = t.data.subarray(run.start, run.start + run.count);
    const options = { encoding: run.encoding, rounding: o.rounding, nonFinite: 'saturate', ...run.options };
    const { codes } = quantizer.quantize(x, options);
    const xhat = quantizer.dequantize(codes, run.encoding, run.options);
    visit(run, x, codes, xhat);
    if (progress && all.length > 4 && i % 4 === 3) progress((i + 1) / all.length);
  });
}

// Adds the errors of one run, in steps of its grid, to the error histogram
// [below, bins…, above], and marks the codes it used.
function addErrors({ errors, used, scales, steps }, run, x, codes, xhat) {
  const k = ERR_BINS / (2 * ERR_RANGE);
  const bias = run.encoding && !Array.isArray(run.encoding) && run.encoding.isSymmetric ? steps / 2 : 0;
  const perChannel = run.inner !== Infinity;
  let step = scales[run.first];
  for (let j = 0; j < x.length; j += 1) {
    const v = x[j];
    if (v - v !== 0) continue; // NaN or ±Inf
    if (perChannel) step = scales[(run.first + Math.floor(j / run.inner)) % run.mod];
    const b = Math.floor(((xhat[j] - v) / step + ERR_RANGE) * k);
    errors[b < 0 ? 0 : b >= ERR_BINS ? ERR_BINS + 1 : b + 1] += 1;
    if (used) used[codes[j] + bias] = 1;
  }
}

// Math.min/max run several times faster than compare-and-assign here, but
// NaN poisons them: a non-finite result means the careful pass.
function finiteRange(data, list) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const { start, count } of list) {
    for (let i = start, end = start + count; i < end; i += 1) {
      lo = Math.min(lo, data[i]);
      hi = Math.max(hi, data[i]);
    }
  }
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
    lo = Infinity;
    hi = -Infinity;
    for (const { start, count } of list) {
      for (let i = start, end = start + count; i < end; i += 1) {
        const v = data[i];
        if (Number.isFinite(v)) {
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
      }
    }
  }
  return lo <= hi ? { lo, hi } : { lo: 0, hi: 0 };
}

const countOf = (list) => list.reduce((n, run) => n + run.count, 0);

// The histograms of a big tensor come from every k-th of its runs, at most
// SAMPLED values in all: their shape is the same, and JavaScript loops over
// hundreds of millions of values would take seconds. The report stays exact.
function evenSample(list) {
  const k = Math.ceil(countOf(list) / SAMPLED);
  return k <= 1 ? list : list.filter((run, i) => i % k === 0);
}

function histogram(data, list, lo, hi, bins) {
  const counts = new Float64Array(bins);
  const k = hi > lo ? bins / (hi - lo) : 0;
  for (const { start, count } of list) {
    for (let i = start, end = start + count; i < end; i += 1) {
      const v = data[i];
      if (v - v !== 0) continue; // NaN or ±Inf
      counts[Math.min(bins - 1, Math.max(0, Math.floor((v - lo) * k)))] += 1;
    }
  }
  return counts;
}

/**
 * Everything the page shows for one tensor and one setting: the report
 * (per channel too), a histogram of the values (of channel `view`, or all),
 * a histogram of the errors in steps of the grid, and the codes used.
 */
export function analyzeTensor({ quantizer, progress }, name, settings, view = null) {
  const t = tensor(name);
  const o = optionsFor(t, settings);
  progress(0.05, 'Calibrating and measuring');
  const report = analyzed(quantizer, t, o);
  const perChannel = Array.isArray(report.encoding);
  let channel = null;
  if (perChannel && view === 'worst') {
    channel = 0;
    report.channels.forEach((c, i) => {
      if (c.sqnrDb < report.channels[channel].sqnrDb) channel = i;
    });
  } else if (perChannel && Number.isInteger(view) && view >= 0 && view < report.encoding.length) {
    channel = view;
  }
  const whole = [{ start: 0, count: t.data.length }];
  const selection = channel === null ? null : [...channelRuns(o, report.encoding, channel)];
  const viewEncoding = channel === null ? (perChannel ? null : report.encoding) : report.encoding[channel];

  progress(0.35, 'Histogram of the values');
  const range = finiteRange(t.data, selection ?? whole);
  let lo = range.lo;
  let hi = range.hi;
  if (viewEncoding) {
    lo = Math.min(lo, viewEncoding.min);
    hi = Math.max(hi, viewEncoding.max);
  }
  if (!(hi > lo)) {
    lo -= 0.5;
    hi += 0.5;
  }
  const shown = [...(selection ?? runs(t.data.length, o, report.encoding))];
  const sample = evenSample(shown);
  const values = histogram(t.data, sample, lo, hi, HIST_BINS);

  progress(0.5, 'Errors of the round trip');
  const errors = new Float64Array(ERR_BINS + 2); // [below, bins…, above]
  const steps = 2 ** settings.bitwidth;
  const used = viewEncoding && steps <= 1 << 16 ? new Uint8Array(steps) : null;
  const scales = perChannel ? report.encoding.map((e) => e.scale) : [report.encoding.scale];
  const list = sample;
  roundTrip(
    quantizer,
    t,
    o,
    report.encoding,
    list,
    (run, x, codes, xhat) => addErrors({ errors, used, scales, steps }, run, x, codes, xhat),
    (f) => progress(0.5 + 0.5 * f, 'Errors of the round trip'),
  );
  let codesUsed = null;
  if (used) {
    codesUsed = 0;
    for (let i = 0; i < used.length; i += 1) codesUsed += used[i];
  }
  progress(1, 'Done');
  return {
    name,
    shape: t.shape,
    count: t.data.length,
    options: { ...o, shape: undefined },
    report,
    view: channel,
    viewEncoding,
    values: { lo, hi, counts: values, dataMin: range.lo, dataMax: range.hi },
    errors: { range: ERR_RANGE, counts: errors },
    codesUsed,
    codesTotal: used ? steps : null,
    sampled: sample === shown ? null : { values: countOf(sample), of: countOf(shown) },
  };
}

/** The tensor under every scheme × bitwidth (4, 8, 16 and the current one). */
export function compare({ quantizer, progress }, name, settings) {
  const t = tensor(name);
  const bitwidths = [...new Set([...COMPARE_BITWIDTHS, settings.bitwidth])].sort((a, b) => a - b);
  const cells = COMPARE_SCHEMES.flatMap((scheme) => bitwidths.map((bitwidth) => ({ scheme, bitwidth })));
  progress(0.05, `Comparing ${cells.length} settings in shared passes`);
  const reportsOfCells = analyzedMany(
    quantizer,
    t,
    cells.map((cell) => optionsFor(t, { ...settings, ...cell })),
  );
  const rows = cells.map(({ scheme, bitwidth }, i) => {
    const r = reportsOfCells[i];
    return { scheme, bitwidth, sqnrDb: r.sqnrDb, mse: r.mse, maxAbsError: r.maxAbsError, clipped: r.clipped };
  });
  progress(1, 'Done');
  return { name, bitwidths, schemes: COMPARE_SCHEMES, rows };
}

function codeBytes(count, bitwidth) {
  return count * (bitwidth <= 8 ? 1 : 2);
}

/** Every tensor of the file under the settings (each with its own axis). */
export function overview({ quantizer, progress }, settings, axes = {}) {
  if (!source) fail('no file is loaded');
  const list = [...source.tensors.values()];
  const rows = list.map((t, i) => {
    progress(i / list.length, `Tensor ${i + 1} of ${list.length}`);
    const row = { name: t.name, dtype: t.dtype, shape: t.shape, count: t.data.length, bytesBefore: t.bytes };
    if (t.data.length === 0) return { ...row, error: 'empty' };
    try {
      const o = optionsFor(t, { ...settings, axis: axes[t.name] ?? null });
      const r = analyzed(quantizer, t, o);
      const channels = Array.isArray(r.encoding) ? r.encoding.length : 1;
      return { ...row, axis: o.axis ?? null, channels, sqnrDb: r.sqnrDb, mse: r.mse, maxAbsError: r.maxAbsError, clipped: r.clipped, bytesAfter: codeBytes(t.data.length, settings.bitwidth) };
    } catch (e) {
      return { ...row, error: e.message };
    }
  });
  progress(1, 'Done');
  return { rows };
}

// -------------------------------------------------------------- exports

function safeName(name) {
  return name.replace(/[^\w.-]+/g, '_').replace(/^[._]+/, '') || 'tensor';
}

function fileBase() {
  if (source.kind === 'sample') return 'sample';
  return safeName(source.name.replace(/\.[^.]*$/, ''));
}

/**
 * Bytes for a download: what = 'codes' | 'dequantized' | 'encodings';
 * format = 'npy' (the tensor `name`) | 'safetensors' (every tensor) |
 * '0.6.1' | '1.0.0' (encodings of every tensor). Each tensor uses its own
 * axis from `axes`.
 */
export function exportData({ quantizer, api, progress }, what, format, settings, name, axes = {}) {
  if (!source) fail('no file is loaded');
  const all = format !== 'npy';
  const list = (all ? [...source.tensors.values()] : [tensor(name)]).filter((t) => t.data.length > 0);
  const out = {};
  const encodings = {};
  list.forEach((t, i) => {
    progress(i / list.length, `${what}: ${t.name}`);
    const o = optionsFor(t, { ...settings, axis: axes[t.name] ?? null });
    if (what === 'encodings') {
      encodings[t.name] = analyzed(quantizer, t, o).encoding;
    } else if (what === 'codes') {
      const { codes, encoding } = quantizer.quantize(t.data, o);
      out[t.name] = { data: codes, shape: t.shape };
      encodings[t.name] = encoding;
    } else if (what === 'dequantized') {
      const { encoding } = analyzed(quantizer, t, o);
      const xhat = new Float32Array(t.data.length);
      roundTrip(quantizer, t, o, encoding, runs(t.data.length, o, encoding), (run, x, codes, y) => xhat.set(y, run.start));
      out[t.name] = { data: xhat, shape: t.shape };
      encodings[t.name] = encoding;
    } else {
      fail(`unknown export "${what}"`);
    }
  });
  progress(1, 'Done');
  const tag = `${settings.scheme}-${settings.bitwidth}bit`;
  if (what === 'encodings') {
    if (format !== '0.6.1' && format !== '1.0.0') fail(`encodings are AIMET 0.6.1 or 1.0.0 JSON, not "${format}"`);
    const json = JSON.stringify(api.toAimetEncodings(encodings, { version: format }), null, 2);
    return {
      bytes: new TextEncoder().encode(`${json}\n`),
      fileName: `${fileBase()}.${tag}.encodings-${format}.json`,
      type: 'application/json',
    };
  }
  const stem = what === 'codes' ? `codes-${tag}` : `dequantized-${tag}`;
  if (format === 'npy') {
    const t = out[name];
    return {
      bytes: api.writeNpy(t.data, t.shape),
      fileName: `${safeName(name)}.${stem}.npy`,
      type: 'application/octet-stream',
    };
  }
  if (format !== 'safetensors') fail(`unknown format "${format}"`);
  const metadata = {
    format: 'wasmquant',
    content: what,
    encodings: JSON.stringify(api.toAimetEncodings(encodings, { version: '1.0.0' })),
  };
  return {
    bytes: api.writeSafetensors(out, metadata),
    fileName: `${fileBase()}.${stem}.safetensors`,
    type: 'application/octet-stream',
  };
}
