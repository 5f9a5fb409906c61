// MatMulNBits (com.microsoft): a MatMul whose 2-D weight B [K, N] is stored
// as N columns of K codes in blocks along K — the layout of onnxruntime's
// 4-bit models (and transformers.js "q4" files).
import { create } from '@bufbuild/protobuf';
import { OperatorSetIdProtoSchema } from './onnx_pb.js';
import { uniqueName } from './graph.js';
import { intAttr, replaceSite } from './qdq.js';
import { bytesOf, rawTensor } from './tensors.js';

const MS_DOMAIN = 'com.microsoft';

// The container MatMulNBits has for a bitwidth (its `bits`), or null.
export function nbitsFor(bitwidth) {
  return bitwidth <= 4 ? 4 : bitwidth <= 8 ? 8 : null;
}

// Packs `values` (each < 2^bits) low bits first, `perRow` values a row,
// each row starting on a byte.
function packRows(values, rows, perRow, bits) {
  const rowBytes = Math.ceil((perRow * bits) / 8);
  const out = new Uint8Array(rows * rowBytes);
  for (let r = 0; r < rows; r += 1) {
    for (let j = 0; j < perRow; j += 1) {
      const bit = j * bits;
      out[r * rowBytes + (bit >> 3)] |= values[r * perRow + j] << (bit & 7);
    }
  }
  return out;
}

// Columns of B tiled this wide: a tile's output (TILE × K codes) stays in
// cache while B is read row by row, TILE codes at a time.
const TILE = 16;

// The bytes of B's codes as MatMulNBits stores them (packColumns).
export function packedLength([K, N], d) {
  return (N * Math.ceil(K / d.blockSize) * d.blockSize * nbitsFor(d.bitwidth)) / 8;
}

// B's codes [K, N] (+ bias) as MatMulNBits stores them: N columns of
// `blocks` blocks of `block` codes, packed `bits` a code, low bits first;
// the last block of column n padded with pad(n). Into `into` when it has
// the length (where the bytes land in the output), each byte written once.
function packColumns(codes, K, N, { block, blocks, bits, bias, pad }, into) {
  const rowBytes = (block * bits) / 8;
  const columnBytes = blocks * rowBytes;
  const perByte = 8 / bits;
  const out = into?.length === N * columnBytes ? into : new Uint8Array(N * columnBytes);
  for (let n0 = 0; n0 < N; n0 += TILE) {
    const n1 = Math.min(n0 + TILE, N);
    for (let k0 = 0; k0 < blocks * block; k0 += perByte) {
      const at = Math.floor(k0 / block) * rowBytes + (((k0 % block) * bits) >> 3);
      if (bits === 4 && k0 + 1 < K) {
        // Most of a 4-bit weight: two rows of B to a byte.
        const lo = k0 * N;
        for (let n = n0; n < n1; n += 1) out[n * columnBytes + at] = (codes[lo + n] + bias) | ((codes[lo + N + n] + bias) << 4);
        continue;
      }
      for (let n = n0; n < n1; n += 1) {
        let byte = 0;
        for (let j = 0, k = k0; j < perByte; j += 1, k += 1) byte |= (k < K ? codes[k * N + n] + bias : pad(n)) << (j * bits);
        out[n * columnBytes + at] = byte;
      }
    }
  }
  return out;
}

// Replaces every MatMul that reads `site` by a MatMulNBits. result.codes
// are in B's [K, N] order, result.encodings (an EncodingTable) in block
// order [blocks, N]; result.bytes (optional) where the packed codes land,
// and all that a layout's placeholder result has.
export function addMatMulNBits(site, result, readers, names, model) {
  const { decision: d, codes, encodings } = result;
  const [K, N] = site.info.shape;
  const block = d.blockSize;
  const blocks = Math.ceil(K / block);
  const bits = nbitsFor(d.bitwidth);
  const signed = d.symmetric;
  // Without zero points MatMulNBits takes 2^(bits-1): symmetric codes s
  // are stored as s + 2^(bits-1).
  const bias = signed ? 1 << (bits - 1) : 0;
  const scales = new Float32Array(N * blocks);
  const zeros = new Uint8Array(N * blocks);
  // A placeholder result's parameters stay blank: a layout needs their sizes.
  for (let b = 0; b < blocks && codes !== null; b += 1) {
    for (let n = 0; n < N; n += 1) {
      const e = b * N + n;
      scales[n * blocks + b] = encodings.scale(e);
      zeros[n * blocks + b] = signed ? bias : -encodings.offset(e);
    }
  }
  // The padding of a short last block dequantizes to 0.
  const pad = (n) => zeros[n * blocks + blocks - 1];
  const base = site.name;
  const qName = uniqueName(names, `${base}_Q${bits}`);
  const sName = uniqueName(names, `${base}_scales`);
  const tensors = [
    rawTensor(
      qName,
      'uint8',
      [N, blocks, (block * bits) / 8],
      codes === null ? result.bytes : packColumns(codes, K, N, { block, blocks, bits, bias, pad }, result.bytes),
    ),
    rawTensor(sName, 'float32', [N * blocks], bytesOf(scales)),
  ];
  const inputs = [qName, sName];
  if (!signed) {
    const zName = uniqueName(names, `${base}_zero_points`);
    const packed = codes === null ? new Uint8Array(N * Math.ceil((blocks * bits) / 8)) : packRows(zeros, N, blocks, bits);
    tensors.push(rawTensor(zName, 'uint8', [packed.length], packed));
    inputs.push(zName);
  }
  const attrs = [intAttr('K', K), intAttr('N', N), intAttr('bits', bits), intAttr('block_size', block)];
  for (const { node: matmul } of readers) {
    Object.assign(matmul, { opType: 'MatMulNBits', domain: MS_DOMAIN, input: [matmul.input[0], ...inputs], attribute: attrs });
  }
  replaceSite(site, tensors, []);
  if (!model.opsetImport.some((o) => o.domain === MS_DOMAIN)) {
    model.opsetImport.push(create(OperatorSetIdProtoSchema, { domain: MS_DOMAIN, version: 1n }));
  }
}
