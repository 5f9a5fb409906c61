// A fully quantized (static) QDQ model: every calibrated activation gets a
// QuantizeLinear/DequantizeLinear pair after its producer, read by all its
// consumers; Conv and Gemm biases become int32 codes with scale = input
// scale · weight scale and no zero point, which onnxruntime's QDQ fusion
// wants before it runs the op in integers.
import { intAttr, node, storageFor } from './qdq.js';
import { bytesOf, rawTensor } from './tensors.js';
import { allGraphs, uniqueName } from './graph.js';

const CODE_TYPES = { uint8: Uint8Array, int8: Int8Array, uint16: Uint16Array, int16: Int16Array };

// The zero point of an activation encoding in its storage type (SPEC §1:
// unsigned codes take -offset; symmetric ones are signed, zero point 0).
function zeroPointBytes(encoding, storage) {
  const zero = new CODE_TYPES[storage](1);
  zero[0] = encoding.isSymmetric ? 0 : -encoding.offset;
  return bytesOf(zero);
}

export function activationStorage(encoding) {
  return storageFor(encoding.bitwidth, encoding.isSymmetric);
}

// Q/DQ for each activation { name, encoding } that `graph` computes (or
// takes as an input), in place:
// after its producer (or first, for a graph input), its readers (here or
// in the subgraphs inside) rewired.
export function addActivationQdq(graph, activations, names) {
  const byName = new Map(activations.map((a) => [a.name, a]));
  const pairs = new Map(); // activation → [Q, DQ] nodes
  const dequantized = new Map(); // activation → the DQ output
  for (const { name, encoding } of activations) {
    const storage = activationStorage(encoding);
    const scale = uniqueName(names, `${name}_scale`);
    const zero = uniqueName(names, `${name}_zero_point`);
    const q = uniqueName(names, `${name}_quantized`);
    const dq = uniqueName(names, `${name}_dequantized`);
    graph.initializer.push(
      rawTensor(scale, 'float32', [], bytesOf(Float32Array.of(encoding.scale))),
      rawTensor(zero, storage, [], zeroPointBytes(encoding, storage)),
    );
    pairs.set(name, [
      node('QuantizeLinear', [name, scale, zero], [q], uniqueName(names, `${name}_QuantizeLinear`)),
      node('DequantizeLinear', [q, scale, zero], [dq], uniqueName(names, `${name}_DequantizeLinear`)),
    ]);
    dequantized.set(name, dq);
  }
  // Readers in the subgraphs inside it too, which read it by name.
  for (const { graph: g } of allGraphs(graph)) for (const n of g.node) n.input = n.input.map((i) => dequantized.get(i) ?? i);
  const inputs = graph.input.filter((i) => byName.has(i.name)).flatMap((i) => pairs.get(i.name));
  graph.node = [...inputs, ...graph.node.flatMap((n) => [n, ...n.output.filter((o) => pairs.has(o)).flatMap((o) => pairs.get(o))])];
}

// The int32 bias of a Conv/Gemm whose input activation and weight are both
// quantized: codes round(b / (s_x · s_w)), per output channel when the
// weight is per channel. Returns { codes, scales, axis } or null.
export function biasCodes(bias, inputEncoding, weightEncodings) {
  const channels = bias.length;
  const perChannel = weightEncodings.length > 1;
  if (perChannel && weightEncodings.length !== channels) return null;
  const scales = new Float32Array(perChannel ? channels : 1);
  const codes = new Int32Array(channels);
  for (let c = 0; c < channels; c += 1) {
    const s = Math.fround(Math.fround(inputEncoding.scale) * Math.fround(weightEncodings.scale(perChannel ? c : 0)));
    if (c < scales.length) scales[c] = s;
    const q = Math.round(bias[c] / s);
    if (!Number.isFinite(q) || Math.abs(q) > 2 ** 31 - 1) return null;
    codes[c] = q;
  }
  return { codes, scales, axis: perChannel ? 0 : null };
}

// The tensors and DequantizeLinear node of an int32 bias named `name`.
export function biasDequantize(name, { codes, scales, axis }, names) {
  const q = uniqueName(names, `${name}_quantized`);
  const s = uniqueName(names, `${name}_scale`);
  const tensors = [
    rawTensor(q, 'int32', [codes.length], bytesOf(codes)),
    rawTensor(s, 'float32', axis === null ? [] : [scales.length], bytesOf(scales)),
  ];
  const attrs = axis === null ? [] : [intAttr('axis', axis)];
  return { tensors, nodes: [node('DequantizeLinear', [q, s], [name], uniqueName(names, `${name}_DequantizeLinear`), attrs)] };
}
