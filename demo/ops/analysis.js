// What the page shows of a tensor: the report, histograms of the values and
// of the round-trip error, every scheme and bitwidth, every tensor.
import { channelRuns, countOf, evenSample, roundTrip, runs } from './runs.js';
import { fail, loadedSource, reports, tensor } from './source.js';

export const HIST_BINS = 240;
export const ERR_BINS = 96;
export const ERR_RANGE = 1.5; // error histogram spans ±1.5 steps; beyond are the tails
export const COMPARE_SCHEMES = ['tf', 'symmetric', 'tf_enhanced', 'percentile'];
export const COMPARE_BITWIDTHS = [4, 8, 16];

// Settings from the page → options of the API for tensor t.
export function optionsFor(t, settings) {
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

export function analyzed(quantizer, t, o) {
  return analyzedMany(quantizer, t, [o])[0];
}

// The reports not seen before come from one analyzeMany, which shares its
// passes over the data between them.
export function analyzedMany(quantizer, t, list) {
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

// Adds the errors of one run, in steps of its grid, to the error histogram
// [below, bins…, above], and marks the codes it used.
export function addErrors({ errors, used, scales, steps }, run, x, codes, xhat) {
  const k = ERR_BINS / (2 * ERR_RANGE);
  const bias = run.encoding && !Array.isArray(run.encoding) && run.encoding.isSymmetric ? steps / 2 : 0;
  const perChannel = run.channels > 1;
  let step = scales[run.first];
  for (let j = 0; j < x.length; j += 1) {
    const v = x[j];
    if (v - v !== 0) continue; // NaN or ±Inf
    if (perChannel) step = scales[run.first + (Math.floor(j / run.inner) % run.channels)];
    const b = Math.floor(((xhat[j] - v) / step + ERR_RANGE) * k);
    errors[b < 0 ? 0 : b >= ERR_BINS ? ERR_BINS + 1 : b + 1] += 1;
    if (used) used[codes[j] + bias] = 1;
  }
}

// Math.min/max run several times faster than compare-and-assign here, but
// NaN poisons them: a non-finite result means the careful pass.
export function finiteRange(data, list) {
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

export function histogram(data, list, lo, hi, bins) {
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
  const channel = viewedChannel(report, view);
  const selection = channel === null ? null : [...channelRuns(o, report.encoding, channel)];
  const viewEncoding = channel === null ? (Array.isArray(report.encoding) ? null : report.encoding) : report.encoding[channel];

  progress(0.35, 'Histogram of the values');
  const range = finiteRange(t.data, selection ?? [{ start: 0, count: t.data.length }]);
  const shown = [...(selection ?? runs(t.data.length, o, report.encoding))];
  const sample = evenSample(shown);
  const values = valueHistogram(t.data, sample, range, viewEncoding);

  progress(0.5, 'Errors of the round trip');
  const errors = errorHistogram(quantizer, t, o, report.encoding, sample, viewEncoding && settings.bitwidth, (f) =>
    progress(0.5 + 0.5 * f, 'Errors of the round trip'),
  );
  progress(1, 'Done');
  return {
    name,
    shape: t.shape,
    count: t.data.length,
    options: { ...o, shape: undefined },
    report,
    view: channel,
    viewEncoding,
    values,
    errors: { range: ERR_RANGE, counts: errors.counts },
    codesUsed: errors.codesUsed,
    codesTotal: errors.codesUsed === null ? null : 2 ** settings.bitwidth,
    sampled: sample === shown ? null : { values: countOf(sample), of: countOf(shown) },
  };
}

// The channel to show: the worst, the one asked for, or none (per tensor,
// or all channels).
function viewedChannel(report, view) {
  if (!Array.isArray(report.encoding)) return null;
  if (view === 'worst') {
    let channel = 0;
    report.channels.forEach((c, i) => {
      if (c.sqnrDb < report.channels[channel].sqnrDb) channel = i;
    });
    return channel;
  }
  return Number.isInteger(view) && view >= 0 && view < report.encoding.length ? view : null;
}

// The histogram of the values over [lo, hi]: the data's range, widened to
// the grid's when one is shown.
function valueHistogram(data, list, range, encoding) {
  let lo = range.lo;
  let hi = range.hi;
  if (encoding) {
    lo = Math.min(lo, encoding.min);
    hi = Math.max(hi, encoding.max);
  }
  if (!(hi > lo)) {
    lo -= 0.5;
    hi += 0.5;
  }
  return { lo, hi, counts: histogram(data, list, lo, hi, HIST_BINS), dataMin: range.lo, dataMax: range.hi };
}

// The round trip's errors in steps of the grid, [below, bins…, above], and
// how many codes were used (with one grid shown: bitwidth, else null).
function errorHistogram(quantizer, t, o, encoding, list, bitwidth, progress) {
  const counts = new Float64Array(ERR_BINS + 2);
  const steps = 2 ** (bitwidth || 8);
  const used = bitwidth ? new Uint8Array(steps) : null;
  const scales = Array.isArray(encoding) ? encoding.map((e) => e.scale) : [encoding.scale];
  roundTrip(
    quantizer,
    t,
    o,
    encoding,
    list,
    (run, x, codes, xhat) => addErrors({ errors: counts, used, scales, steps }, run, x, codes, xhat),
    progress,
  );
  return { counts, codesUsed: used ? used.reduce((n, u) => n + u, 0) : null };
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

export function codeBytes(count, bitwidth) {
  return count * (bitwidth <= 8 ? 1 : 2);
}

/** Every tensor of the file under the settings (each with its own axis). */
export function overview({ quantizer, progress }, settings, axes = {}) {
  if (!loadedSource()) fail('no file is loaded');
  const list = [...loadedSource().tensors.values()];
  const rows = list.map((t, i) => {
    progress(i / list.length, `Tensor ${i + 1} of ${list.length}`);
    const row = { name: t.name, dtype: t.dtype, shape: t.shape, count: t.data.length, bytesBefore: t.bytes };
    if (t.data.length === 0) return { ...row, error: 'empty' };
    try {
      const o = optionsFor(t, { ...settings, axis: axes[t.name] ?? null });
      const r = analyzed(quantizer, t, o);
      const channels = Array.isArray(r.encoding) ? r.encoding.length : 1;
      return {
        ...row,
        axis: o.axis ?? null,
        channels,
        sqnrDb: r.sqnrDb,
        mse: r.mse,
        maxAbsError: r.maxAbsError,
        clipped: r.clipped,
        bytesAfter: codeBytes(t.data.length, settings.bitwidth),
      };
    } catch (e) {
      return { ...row, error: e.message };
    }
  });
  progress(1, 'Done');
  return { rows };
}
