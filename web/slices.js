// channelSlices: a tensor quantized per channel (SPEC §3.2), cut into
// contiguous pieces that the API takes one at a time with the matching
// part of the encodings — for callers that work in bounded memory (a page
// showing one channel, a round trip of a 200 MB tensor in 1M pieces).
import { checkOptionsObject, describe } from './options.js';

function fail(ErrorClass, message) {
  throw new ErrorClass(`wasmquant: channelSlices: ${message}`);
}

function checkShape(shape) {
  if (!Array.isArray(shape) && !ArrayBuffer.isView(shape)) fail(TypeError, `shape must be an array of dimension sizes, got ${describe(shape)}`);
  const dims = Array.from(shape);
  dims.forEach((d, i) => {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)
      fail(RangeError, `shape[${i}] must be a non-negative integer, got ${describe(d)}`);
  });
  return dims;
}

function checkIndex(name, value, from, to) {
  if (typeof value !== 'number' || !Number.isInteger(value)) fail(TypeError, `${name} must be an integer, got ${describe(value)}`);
  if (value < from || value > to) fail(RangeError, `${name} must be from ${from} to ${to}, got ${value}`);
  return value;
}

// Per tensor: pieces of the whole, one channel.
function* tensorSlices(length, maxLength) {
  for (let start = 0; start < length; start += maxLength) {
    const n = Math.min(maxLength, length - start);
    yield { start, length: n, shape: [n], axis: undefined, channel: 0, channels: 1, inner: n };
  }
}

// The pieces of channel c's runs of `inner` values, as one-channel tensors.
function* runPieces(start, inner, c, maxLength) {
  for (let s = 0; s < inner; s += maxLength) {
    const n = Math.min(maxLength, inner - s);
    yield { start: start + s, length: n, shape: [1, n], axis: 0, channel: c, channels: 1, inner: n };
  }
}

function* channelPieces({ outer, channels, inner }, maxLength, only) {
  const block = channels * inner;
  if (only !== undefined) {
    for (let o = 0; o < outer; o += 1) yield* runPieces(o * block + only * inner, inner, only, maxLength);
    return;
  }
  if (block <= maxLength) {
    // Whole [channels, inner] blocks, as many as fit.
    const k = Math.floor(maxLength / block);
    for (let o = 0; o < outer; o += k) {
      const n = Math.min(k, outer - o);
      yield { start: o * block, length: n * block, shape: [n, channels, inner], axis: 1, channel: 0, channels, inner };
    }
    return;
  }
  const group = Math.floor(maxLength / inner); // whole channel runs per slice
  for (let o = 0; o < outer; o += 1) {
    for (let c = 0; c < channels; c += Math.max(group, 1)) {
      const start = o * block + c * inner;
      if (group < 2) {
        yield* runPieces(start, inner, c, maxLength);
      } else {
        const n = Math.min(group, channels - c);
        yield { start, length: n * inner, shape: [n, inner], axis: 0, channel: c, channels: n, inner };
      }
    }
  }
}

/**
 * Slices { start, length, shape, axis, channel, channels, inner } of at
 * most options.maxLength elements (default 1 Mi) covering a tensor of
 * `shape`, in order: x.subarray(start, start + length) quantizes with
 * { shape, axis, encoding: encodings.slice(channel, channel + channels) }
 * (per tensor, axis undefined: the one encoding), and its element j is in
 * channel channel + floor(j / inner) % channels. options.channel keeps that
 * channel's slices only.
 */
export function* channelSlices(shape, axis, options) {
  const dims = checkShape(shape);
  const o = checkOptionsObject(options, ['maxLength', 'channel'], 'channelSlices options');
  const maxLength = o.maxLength === undefined ? 1 << 20 : checkIndex('maxLength', o.maxLength, 1, Number.MAX_SAFE_INTEGER);
  const length = dims.reduce((a, b) => a * b, 1);
  if (axis === undefined) {
    if (o.channel !== undefined) fail(TypeError, 'channel needs axis: a tensor quantized per tensor has no channels');
    yield* tensorSlices(length, maxLength);
    return;
  }
  if (dims.length === 0) fail(RangeError, 'per-channel slices need a shape of rank 1 or more');
  const a = checkIndex('axis', axis, -dims.length, dims.length - 1);
  const at = a < 0 ? a + dims.length : a;
  const channels = dims[at];
  const only = o.channel === undefined ? undefined : checkIndex('channel', o.channel, 0, channels - 1);
  const outer = dims.slice(0, at).reduce((x, y) => x * y, 1);
  const inner = dims.slice(at + 1).reduce((x, y) => x * y, 1);
  if (length === 0) return;
  yield* channelPieces({ outer, channels, inner }, maxLength, only);
}
