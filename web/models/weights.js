// Quantizes one weight of a model with the core, per tensor, per channel or
// in blocks along an axis (ONNX block_size, MatMulNBits), and measures its
// round trip (SQNR, SPEC §4) without keeping the dequantized tensor.

// Per-channel state in the core is bounded (64 Ki channels with the
// histogram and rank searches): blocks go through it in batches this big.
const MAX_CHANNELS_PER_CALL = 1 << 16;

function coreOptions(d) {
  const o = { bitwidth: d.bitwidth, scheme: d.scheme, symmetric: d.symmetric, rounding: d.rounding };
  if (d.strict) o.strict = true;
  if (d.percentile !== undefined) o.percentile = d.percentile;
  if (d.minRange !== undefined) o.minRange = d.minRange;
  return o;
}

// The core's report (SPEC §4) is the fast way to measure, but each
// encoding it is given crosses into wasm as an object: past this many
// (blocks), the error is summed here instead.
const FEW_ENCODINGS = 4096;

function sumOfSquares(x) {
  let sum = 0;
  for (let i = 0; i < x.length; i += 1) sum += x[i] * x[i];
  return sum;
}

// Adds the report's Σ(x̂ - x)² and Σx² (from its SQNR, which holds their
// ratio: no second pass over x) to acc.
function addReport(acc, x, report) {
  const error = report.mse * report.count;
  acc.error += error;
  acc.signal += error > 0 && Number.isFinite(report.sqnrDb) ? error * 10 ** (report.sqnrDb / 10) : sumOfSquares(x);
}

// Adds Σx² and Σ(x̂ - x)² of x to acc, element i having the encoding of
// channel floor(i / inner) % channels. x̂ as the runtimes compute it:
// (q + offset) · scale with the float32 scale; a signed (symmetric) code
// s is already q + offset.
function addSquares(acc, x, codes, encodings, inner, channels) {
  const signed = codes instanceof Int8Array || codes instanceof Int16Array;
  let channel = 0;
  let left = inner;
  let scale = Math.fround(encodings[0].scale);
  let offset = signed ? 0 : encodings[0].offset;
  for (let i = 0; i < x.length; i += 1) {
    if (left === 0) {
      channel = channel + 1 === channels ? 0 : channel + 1;
      scale = Math.fround(encodings[channel].scale);
      offset = signed ? 0 : encodings[channel].offset;
      left = inner;
    }
    left -= 1;
    const e = Math.fround((codes[i] + offset) * scale) - x[i];
    acc.signal += x[i] * x[i];
    acc.error += e * e;
  }
}

// Adds x's squares to acc, by the core's report when few encodings would
// cross into wasm, else here. layout: the quantize options' shape and axis.
function measure(acc, wq, { x, codes, encodings, rounding, layout, inner }) {
  if (encodings.length <= FEW_ENCODINGS) {
    const encoding = layout.shape === undefined ? encodings[0] : encodings;
    addReport(acc, x, wq.analyze(x, { rounding, ...layout, encoding }));
  } else {
    addSquares(acc, x, codes, encodings, inner, encodings.length);
  }
}

// Quantizes x as `channels` rows (or one tensor) and adds its squares to
// `acc`; returns { codes, encodings }.
function quantizeRows(wq, x, channels, d, acc) {
  const base = coreOptions(d);
  const layout = channels === null ? {} : { shape: [channels, x.length / channels], axis: 0 };
  const { codes, encoding } = wq.quantize(x, { ...base, ...layout });
  const encodings = channels === null ? [encoding] : encoding;
  measure(acc, wq, { x, codes, encodings, rounding: d.rounding, layout, inner: x.length / encodings.length });
  return { codes, encodings };
}

// Rows of `rows.length / width` channels, through the core in batches.
function quantizeBatched(wq, rows, width, d, acc) {
  const count = rows.length / width;
  const encodings = [];
  let codes = null;
  for (let start = 0; start < count; start += MAX_CHANNELS_PER_CALL) {
    const n = Math.min(MAX_CHANNELS_PER_CALL, count - start);
    const part = quantizeRows(wq, rows.subarray(start * width, (start + n) * width), n, d, acc);
    codes ??= new part.codes.constructor(rows.length);
    codes.set(part.codes, start * width);
    for (const e of part.encodings) encodings.push(e);
  }
  return { codes, encodings };
}

// dst = src as `count` matrices [rows, cols] each transposed to
// [cols, rows], in tiles that stay in cache.
function transpose(src, count, rows, cols, dst) {
  const TILE = 32;
  const size = rows * cols;
  for (let m = 0; m < count; m += 1) {
    const base = m * size;
    for (let r0 = 0; r0 < rows; r0 += TILE) {
      const r1 = Math.min(r0 + TILE, rows);
      for (let c0 = 0; c0 < cols; c0 += TILE) {
        const c1 = Math.min(c0 + TILE, cols);
        for (let r = r0; r < r1; r += 1) {
          for (let c = c0; c < c1; c += 1) dst[base + c * rows + r] = src[base + r * cols + c];
        }
      }
    }
  }
  return dst;
}

const product = (dims) => dims.reduce((a, b) => a * b, 1);

// x as [outer, dim, inner] around `axis`.
function around(shape, axis) {
  return { outer: product(shape.slice(0, axis)), dim: shape[axis], inner: product(shape.slice(axis + 1)) };
}

function quantizeChannels(wq, x, shape, d, acc) {
  const { inner } = around(shape, d.axis);
  const { codes, encoding } = wq.quantize(x, { ...coreOptions(d), shape, axis: d.axis });
  measure(acc, wq, { x, codes, encodings: encoding, rounding: d.rounding, layout: { shape, axis: d.axis }, inner });
  return { codes, encodings: encoding };
}

// Blocks of `size` along `axis` (the last one shorter when size does not
// divide the axis), numbered in the row-major order of the scale tensor
// [outer, blocks, inner]. The axis is moved last so that every block is a
// contiguous run; full blocks and short last blocks go through the core
// as two rectangular groups.
function quantizeBlocks(wq, x, shape, d, acc) {
  const { outer, dim, inner } = around(shape, d.axis);
  const size = d.blockSize;
  const blocks = Math.ceil(dim / size);
  const full = Math.floor(dim / size) * size;
  const rows = inner === 1 ? x : transpose(x, outer, dim, inner, new Float32Array(x.length));
  const lines = outer * inner; // rows of `dim` values
  const heads = full === dim ? rows : new Float32Array(lines * full);
  const tails = new Float32Array(lines * (dim - full));
  if (full !== dim) {
    for (let l = 0; l < lines; l += 1) {
      heads.set(rows.subarray(l * dim, l * dim + full), l * full);
      tails.set(rows.subarray(l * dim + full, (l + 1) * dim), l * (dim - full));
    }
  }
  const head = full > 0 ? quantizeBatched(wq, heads, size, d, acc) : null;
  const tail = full !== dim ? quantizeBatched(wq, tails, dim - full, d, acc) : null;
  const Codes = (head ?? tail).codes.constructor;
  const codeRows = full === dim ? head.codes : new Codes(x.length);
  const encodings = new Array(lines * blocks);
  const perLine = full / size;
  for (let l = 0; l < lines; l += 1) {
    if (full !== dim) {
      if (head) codeRows.set(head.codes.subarray(l * full, (l + 1) * full), l * dim);
      codeRows.set(tail.codes.subarray(l * (dim - full), (l + 1) * (dim - full)), l * dim + full);
    }
    const o = Math.floor(l / inner);
    const i = l % inner;
    for (let b = 0; b < blocks; b += 1) {
      encodings[(o * blocks + b) * inner + i] = b < perLine ? head.encodings[l * perLine + b] : tail.encodings[l];
    }
  }
  const codes = inner === 1 ? codeRows : transpose(codeRows, outer, inner, dim, new Codes(x.length));
  return { codes, encodings };
}

function sqnrDb(signal, error) {
  if (error === 0) return Infinity;
  return 10 * Math.log10(signal / error);
}

// d: a 'quantize' decision of decide.js. Returns { codes (one per element,
// in x's order), encodings (per tensor: one; per channel: one per channel;
// blocks: the scale tensor's row-major order), sqnrDb }.
export function quantizeWeight(wq, x, shape, d) {
  const acc = { signal: 0, error: 0 };
  let result;
  if (d.blockSize !== null) {
    result = quantizeBlocks(wq, x, shape, d, acc);
  } else if (d.axis !== null) {
    result = quantizeChannels(wq, x, shape, d, acc);
  } else {
    result = quantizeRows(wq, x, null, d, acc);
  }
  return { ...result, sqnrDb: sqnrDb(acc.signal, acc.error) };
}
