// A tensor as runs that the API quantizes with given encodings (per tensor,
// per channel, or one channel), and the round trip over them.

export const RUN = 1 << 20; // elements per quantize/dequantize round trip
export const SAMPLED = 1 << 22; // values behind the histograms of a big tensor

export function layoutOf(shape, axis) {
  const channels = shape[axis];
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  return { channels, inner, outer, block: channels * inner };
}

// Splits the tensor into runs that the API can quantize with a given
// encoding: each run is { start, count, encoding, options, channel(j) }.
export function* runs(n, o, encoding) {
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
export function* channelRuns(o, encoding, c) {
  const { inner, outer, block } = layoutOf(o.shape, o.axis);
  for (let b = 0; b < outer; b += 1) {
    for (let s = 0; s < inner; s += RUN) {
      yield { start: b * block + c * inner + s, count: Math.min(RUN, inner - s), encoding: encoding[c], options: {}, first: c, inner: Infinity, mod: Infinity };
    }
  }
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
