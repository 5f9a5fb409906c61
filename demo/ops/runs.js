// A tensor as runs that the API quantizes with given encodings (per tensor,
// per channel, or one channel), and the round trip over them.
import { channelSlices } from 'wasmquant';

export const RUN = 1 << 20; // elements per quantize/dequantize round trip
export const SAMPLED = 1 << 22; // values behind the histograms of a big tensor

// A run: one of the library's channel slices with its part of the
// encodings; element j is in channel first + floor(j / inner) % channels.
function runOf(slice, encoding) {
  const perChannel = Array.isArray(encoding);
  return {
    start: slice.start,
    count: slice.length,
    encoding: perChannel ? encoding.slice(slice.channel, slice.channel + slice.channels) : encoding,
    options: perChannel ? { shape: slice.shape, axis: slice.axis } : {},
    first: slice.channel,
    inner: slice.inner,
    channels: slice.channels,
  };
}

// The tensor (options o: shape, axis) in runs of at most RUN elements that
// the API quantizes with the given encodings.
export function* runs(n, o, encoding) {
  const perChannel = Array.isArray(encoding);
  for (const slice of channelSlices(perChannel ? o.shape : [n], perChannel ? o.axis : undefined, { maxLength: RUN })) {
    yield runOf(slice, encoding);
  }
}

// The runs of channel c only.
export function* channelRuns(o, encoding, c) {
  for (const slice of channelSlices(o.shape, o.axis, { maxLength: RUN, channel: c })) yield runOf(slice, encoding);
}

// Quantizes and dequantizes every run; calls visit(run, x, codes, xhat).
export function roundTrip(quantizer, t, o, encoding, list, visit, progress) {
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

export const countOf = (list) => list.reduce((n, run) => n + run.count, 0);

// The histograms of a big tensor come from every k-th of its runs, at most
// SAMPLED values in all: their shape is the same, and JavaScript loops over
// hundreds of millions of values would take seconds. The report stays exact.
export function evenSample(list) {
  const k = Math.ceil(countOf(list) / SAMPLED);
  return k <= 1 ? list : list.filter((run, i) => i % k === 0);
}
