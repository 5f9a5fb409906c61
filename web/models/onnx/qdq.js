// QDQ: a quantized weight becomes its codes, scale and zero point, and a
// DequantizeLinear node whose output keeps the weight's name, so every
// reader is unchanged (and the encodings keep the original names).
import { create } from '@bufbuild/protobuf';
import { AttributeProtoSchema, AttributeProto_AttributeType, NodeProtoSchema } from './onnx_pb.js';
import { LITTLE_ENDIAN } from '../../formats/common.js';
import { DATA_TYPE, bytesOf, packNibbles, rawTensor } from './tensors.js';
import { uniqueName } from './graph.js';

const CODE_TYPES = {
  uint4: Uint8Array,
  int4: Int8Array,
  uint8: Uint8Array,
  int8: Int8Array,
  uint16: Uint16Array,
  int16: Int16Array,
};

// The ONNX type that stores codes of `bitwidth` bits, signed or not, and
// the opset DequantizeLinear needs for it.
export function storageFor(bitwidth, signed) {
  const bits = bitwidth <= 4 ? 4 : bitwidth <= 8 ? 8 : 16;
  return `${signed ? 'int' : 'uint'}${bits}`;
}

export function opsetFor(storage, perChannel, blocked) {
  if (blocked || storage.endsWith('4') || storage.endsWith('16')) return 21;
  return perChannel ? 13 : 10;
}

export const intAttr = (name, i) => create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INT, i: BigInt(i) });

export function node(opType, input, output, name, attribute = [], domain = '') {
  return create(NodeProtoSchema, { opType, input, output, name, attribute, domain });
}

// Codes in the storage type's bytes: 4-bit codes two to a byte, packed
// into `bytes` (where they will land in the output) when given. A layout's
// placeholder result (reserve in index.js) has no codes, only those bytes,
// and only the length of its encodings.
function codeBytes(codes, storage, bytes) {
  if (codes === null) return bytes;
  if (storage.endsWith('4')) return packNibbles(codes, bytes);
  return bytesOf(new CODE_TYPES[storage](codes.buffer, codes.byteOffset, codes.length));
}

export const storageBits = (storage) => Number(storage.replace(/\D+/, ''));

// A view of `bytes` (where a weight's codes will land in the output) that
// the core can write the codes into; null for 4-bit codes, which are
// packed into them afterwards, and where the codes' type cannot view them.
export function codesIn(bytes, storage) {
  const Type = CODE_TYPES[storage];
  if (storage.endsWith('4') || bytes.byteOffset % Type.BYTES_PER_ELEMENT !== 0 || (!LITTLE_ENDIAN && Type.BYTES_PER_ELEMENT > 1)) return null;
  return new Type(bytes.buffer, bytes.byteOffset, bytes.length / Type.BYTES_PER_ELEMENT);
}

// The shape of scale and zero point: a scalar, one per channel, or the
// weight's shape with the blocked axis divided into blocks.
function paramShape(shape, d, count) {
  if (d.blockSize !== null) return shape.map((n, i) => (i === d.axis ? Math.ceil(n / d.blockSize) : n));
  return d.axis === null ? [] : [count];
}

// Signed storage holds the symmetric codes s (x̂ = s · scale, zero point
// 0); unsigned holds q with zero point -offset (SPEC §1).
function zeroPoints(encodings, storage) {
  const Type = CODE_TYPES[storage];
  if (storage.startsWith('int')) return new Type(encodings.length);
  const zeros = new Type(encodings.length);
  for (let i = 0; i < zeros.length; i += 1) zeros[i] = -encodings.offset(i);
  return zeros;
}

// Rewrites one weight; returns the new tensors' names.
// site: { name, graph, node (Constant) | undefined, tensor }
// result: { decision, codes, encodings (an EncodingTable), bytes (optional:
// where the codes' bytes land, see codeBytes) }, storage: 'uint8' …,
// names: Set.
export function addDequantize(site, result, storage, names, castTo) {
  const { decision: d, codes, encodings } = result;
  const { shape } = site.info;
  const base = site.name;
  const qName = uniqueName(names, `${base}_quantized`);
  const sName = uniqueName(names, `${base}_scale`);
  const zName = uniqueName(names, `${base}_zero_point`);
  const n = encodings.length;
  const dims = paramShape(shape, d, n);
  // A placeholder (see codeBytes) has the sizes only: its parameters are blank.
  const blank = codes === null;
  const tensors = [
    rawTensor(qName, storage, shape, codeBytes(codes, storage, result.bytes)),
    rawTensor(sName, 'float32', dims, blank ? new Uint8Array(4 * n) : bytesOf(encodings.column('scale', Float32Array))),
    rawTensor(
      zName,
      storage,
      dims,
      blank ? new Uint8Array(Math.ceil((n * storageBits(storage)) / 8)) : codeBytes(zeroPoints(encodings, storage), storage),
    ),
  ];
  const attrs = [];
  if (d.axis !== null) attrs.push(intAttr('axis', d.axis));
  if (d.blockSize !== null) attrs.push(intAttr('block_size', d.blockSize));
  const dqOut = castTo ? uniqueName(names, `${base}_dequantized`) : base;
  const nodes = [node('DequantizeLinear', [qName, sName, zName], [dqOut], uniqueName(names, `${base}_DequantizeLinear`), attrs)];
  if (castTo) {
    nodes.push(node('Cast', [dqOut], [base], uniqueName(names, `${base}_Cast`), [intAttr('to', DATA_TYPE[castTo])]));
  }
  replaceSite(site, tensors, nodes);
}

// Puts `tensors` into the site's graph and `nodes` where the weight was:
// in place of its Constant node, or for an initializer (whose name leaves
// the graph's inputs, where IR < 4 models list them) first in the graph
// that reads it (site.home: the one If branch all its readers are in, so
// that onnxruntime sees the DequantizeLinear beside its Conv and fuses
// them; else the initializer's own graph).
export function replaceSite(site, tensors, nodes) {
  const { graph } = site;
  graph.initializer.push(...tensors);
  if (site.node) {
    graph.node.splice(graph.node.indexOf(site.node), 1, ...nodes);
    return;
  }
  graph.initializer.splice(graph.initializer.indexOf(site.tensor), 1);
  graph.input = graph.input.filter((v) => v.name !== site.name);
  (site.home ?? graph).node.unshift(...nodes);
}
