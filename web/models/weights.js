// Quantizes one weight of a model with the core, per tensor, per channel or
// in blocks along an axis (ONNX block_size, MatMulNBits), and measures its
// round trip (SQNR, SPEC §4) without keeping the dequantized tensor. A weight
// is a Float32Array or a float32 WasmTensor (read straight into wasm memory);
// its encodings stay an EncodingTable (a million, in blocks).
import { QUANTIZE_MEASURED } from '../internal.js';
import { EncodingTable } from '../rows.js';

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

// A tensor's values to loop over in JS; a WasmTensor's view is taken anew
// after every core call, which may grow (and so detach) wasm memory.
const valuesOf = (x) => (ArrayBuffer.isView(x) ? x : x.data);

// Σx², when the report's SQNR cannot give it (no error, or none finite).
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
  acc.signal += error > 0 && Number.isFinite(report.sqnrDb) ? error * 10 ** (report.sqnrDb / 10) : sumOfSquares(valuesOf(x));
}

// Quantizes x (per tensor, or per channel with options.shape and axis) and
// adds its squares to acc; returns { codes, encodings (an EncodingTable) }.
// into: see QUANTIZE_MEASURED (web/index.js).
function quantizeMeasured(wq, x, options, acc, into) {
  const { codes, encodings, report } = wq[QUANTIZE_MEASURED](x, options, into);
  addReport(acc, x, report);
  return { codes, encodings };
}

// The codes and encodings of a weight quantized in many calls, each call's
// written in place: its codes at `at` (an element index), its rows at `row`.
// The codes' type comes from the first call, which makes its own.
class Parts {
  constructor(length, rows) {
    this.length = length;
    this.codes = null;
    this.encodings = EncodingTable.allocate(rows);
  }

  quantize(wq, x, options, acc, at, row) {
    const into = { table: this.encodings, row };
    if (this.codes) into.codes = this.codes.subarray(at, at + x.length);
    const result = quantizeMeasured(wq, x, options, acc, into);
    if (!this.codes) {
      this.codes = new result.codes.constructor(this.length);
      this.codes.set(result.codes, at);
    }
  }
}

// Rows of `rows.length / width` channels, through the core in batches.
function quantizeBatched(wq, rows, width, d, acc) {
  const count = rows.length / width;
  const parts = new Parts(rows.length, count);
  for (let start = 0; start < count; start += MAX_CHANNELS_PER_CALL) {
    const n = Math.min(MAX_CHANNELS_PER_CALL, count - start);
    const part = rows.subarray(start * width, (start + n) * width);
    parts.quantize(wq, part, { ...coreOptions(d), shape: [n, width], axis: 0 }, acc, start * width, start);
  }
  return parts;
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

// Blocks along an axis with inner > 1 values after it: block row b of
// each outer index is a contiguous [len, inner] slab whose columns are its
// blocks, in the scale tensor's order. One per-channel call on the core's
// channels-last path each, with no transposes.
function quantizeBlockSlabs(wq, tensor, { outer, dim, inner }, d, acc) {
  const size = d.blockSize;
  const slab = new Float32Array(size * inner); // reused: touched once
  const blocks = Math.ceil(dim / size);
  const parts = new Parts(tensor.length, outer * blocks * inner);
  for (let o = 0; o < outer; o += 1) {
    for (let b = 0; b < blocks; b += 1) {
      const k = b * size;
      const len = Math.min(size, dim - k);
      const begin = (o * dim + k) * inner;
      const part = slab.subarray(0, len * inner);
      part.set(valuesOf(tensor).subarray(begin, begin + len * inner));
      parts.quantize(wq, part, { ...coreOptions(d), shape: [len, inner], axis: 1 }, acc, begin, (o * blocks + b) * inner);
    }
  }
  return parts;
}

// Blocks of `size` along `axis` (the last one shorter when size does not
// divide the axis), numbered in the row-major order of the scale tensor
// [outer, blocks, inner]. Unless they are slabs (above), the axis is moved
// last so that every block is a contiguous run; full blocks and short last
// blocks go through the core as two rectangular groups.
function quantizeBlocks(wq, tensor, shape, d, acc) {
  const layout = around(shape, d.axis);
  const { outer, dim, inner } = layout;
  if (inner > 1 && inner <= MAX_CHANNELS_PER_CALL) return quantizeBlockSlabs(wq, tensor, layout, d, acc);
  // Batches of blocks are subarrays: of JS memory, which no core call detaches.
  const x = ArrayBuffer.isView(tensor) ? tensor : tensor.data.slice();
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
  if (full !== dim) {
    for (let l = 0; l < lines; l += 1) {
      if (head) codeRows.set(head.codes.subarray(l * full, (l + 1) * full), l * dim);
      codeRows.set(tail.codes.subarray(l * (dim - full), (l + 1) * (dim - full)), l * dim + full);
    }
  }
  const codes = inner === 1 ? codeRows : transpose(codeRows, outer, inner, dim, new Codes(x.length));
  // Whole blocks along the last axis are in the scale tensor's order already.
  if (!tail && inner === 1) return { codes, encodings: head.encodings };
  const order = new Uint32Array(lines * blocks); // scale-tensor position → head rows, then tail rows
  const perLine = full / size;
  for (let l = 0; l < lines; l += 1) {
    const o = Math.floor(l / inner);
    const i = l % inner;
    for (let b = 0; b < blocks; b += 1) {
      order[(o * blocks + b) * inner + i] = b < perLine ? l * perLine + b : lines * perLine + l;
    }
  }
  const encodings = EncodingTable.concat([head, tail].filter(Boolean).map((r) => r.encodings)).pick(order);
  return { codes, encodings };
}

function sqnrDb(signal, error) {
  if (error === 0) return Infinity;
  return 10 * Math.log10(signal / error);
}

// d: a 'quantize' decision of decide.js. Returns { codes (one per element,
// in x's order), encodings (an EncodingTable; per tensor: one row; per
// channel: one per channel; blocks: the scale tensor's row-major order),
// sqnrDb }. codes: where to write the codes of a weight quantized per
// tensor or per channel (a typed array of their type), if anywhere.
export function quantizeWeight(wq, x, shape, d, codes) {
  const acc = { signal: 0, error: 0 };
  let result;
  if (d.blockSize !== null) {
    result = quantizeBlocks(wq, x, shape, d, acc);
  } else {
    const layout = d.axis === null ? {} : { shape, axis: d.axis };
    result = quantizeMeasured(wq, x, { ...coreOptions(d), ...layout }, acc, codes ? { codes } : undefined);
  }
  return { ...result, sqnrDb: sqnrDb(acc.signal, acc.error) };
}
