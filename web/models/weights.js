// Quantizes one weight of a model with the core, per tensor, per channel or
// in blocks along an axis (ONNX block_size, MatMulNBits), and measures its
// round trip (SQNR) without keeping the dequantized tensor.

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

function sumOfSquares(x) {
  let sum = 0;
  for (let i = 0; i < x.length; i += 1) sum += x[i] * x[i];
  return sum;
}

// Quantizes x as `channels` rows (or one tensor) and adds the squared
// error to `acc`; returns { codes, encodings }.
function quantizeRows(wq, x, channels, d, acc) {
  const base = coreOptions(d);
  const layout = channels === null ? {} : { shape: [channels, x.length / channels], axis: 0 };
  const { codes, encoding } = wq.quantize(x, { ...base, ...layout });
  const report = wq.analyze(x, { rounding: d.rounding, ...layout, encoding });
  acc.error += report.mse * report.count;
  return { codes, encodings: channels === null ? [encoding] : encoding };
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

// The block layout of a shape: blocks of `size` along `axis`, numbered in
// the row-major order of the scale tensor [..., ceil(dim / size), ...].
function blockLayout(shape, axis, size) {
  const dim = shape[axis];
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const blocks = Math.ceil(dim / size);
  return { dim, inner, outer, blocks, size, last: dim - (blocks - 1) * size };
}

// Calls fn(element index, block index, position in block) for every
// element; full-size blocks and the shorter last blocks are visited as two
// groups so that each group is one rectangular array of rows.
function forEachBlockElement(L, wantLast, fn) {
  for (let o = 0; o < L.outer; o += 1) {
    for (let b = 0; b < L.blocks; b += 1) {
      const isLast = b === L.blocks - 1 && L.last !== L.size;
      if (isLast !== wantLast) continue;
      const width = isLast ? L.last : L.size;
      for (let i = 0; i < L.inner; i += 1) {
        const block = (o * L.blocks + b) * L.inner + i;
        const start = (o * L.dim + b * L.size) * L.inner + i;
        for (let t = 0; t < width; t += 1) fn(start + t * L.inner, block, t);
      }
    }
  }
}

function quantizeBlocks(wq, x, shape, d, acc) {
  const L = blockLayout(shape, d.axis, d.blockSize);
  const encodings = new Array(L.outer * L.blocks * L.inner);
  let codes = null;
  for (const wantLast of [false, true]) {
    const width = wantLast ? L.last : L.size;
    const elements = [];
    const blockIds = [];
    forEachBlockElement(L, wantLast, (index, block, t) => {
      elements.push(index);
      if (t === 0) blockIds.push(block);
    });
    if (elements.length === 0) continue;
    const rows = Float32Array.from(elements, (index) => x[index]);
    const part = quantizeBatched(wq, rows, width, d, acc);
    codes ??= new part.codes.constructor(x.length);
    elements.forEach((index, k) => {
      codes[index] = part.codes[k];
    });
    blockIds.forEach((block, k) => {
      encodings[block] = part.encodings[k];
    });
  }
  return { codes, encodings, blocks: L.blocks };
}

function sqnrDb(signal, error) {
  if (error === 0) return Infinity;
  return 10 * Math.log10(signal / error);
}

// d: a 'quantize' decision of decide.js. Returns { codes (one per element,
// in x's order), encodings (per tensor: one; per channel: one per channel;
// blocks: the scale tensor's row-major order), sqnrDb }.
export function quantizeWeight(wq, x, shape, d) {
  const acc = { error: 0 };
  let result;
  if (d.blockSize !== null) {
    result = quantizeBlocks(wq, x, shape, d, acc);
  } else if (d.axis !== null) {
    const { codes, encoding } = wq.quantize(x, { ...coreOptions(d), shape, axis: d.axis });
    const report = wq.analyze(x, { rounding: d.rounding, shape, axis: d.axis, encoding });
    acc.error = report.mse * report.count;
    result = { codes, encodings: encoding };
  } else {
    result = quantizeRows(wq, x, null, d, acc);
  }
  return { ...result, sqnrDb: sqnrDb(sumOfSquares(x), acc.error) };
}
