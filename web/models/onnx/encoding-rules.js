// The encoding rules of activations that onnxruntime's quantizer applies
// after calibration: outputs of value-moving ops share their input's
// encoding, a Conv (or other fusing op) read only by a Relu or Clip shares
// the activation's, a Concat's inputs its output's on request, and a
// Softmax's output takes that of [0, 1].
import { allGraphs, attributeOf, isDefaultDomain, readersByName } from './graph.js';

// Ops that only move or select their first input's values: their outputs
// take that input's encoding, as onnxruntime's quantizer does, so the Q/DQ
// pairs around them cancel and they run on the codes (Resize but cubic,
// which can overshoot the input's range).
const SAME_AS_INPUT = new Set(['Reshape', 'Transpose', 'Squeeze', 'Unsqueeze', 'Flatten', 'Split', 'Slice', 'Gather', 'MaxPool', 'Resize']);

export function movesValues(node) {
  if (!SAME_AS_INPUT.has(node.opType) || !isDefaultDomain(node.domain)) return false;
  const mode = attributeOf(node, 'mode');
  return node.opType !== 'Resize' || !mode || new TextDecoder().decode(mode.s) !== 'cubic';
}

// Ops that a Relu or Clip after them fuses with: the activation's output
// range is the one the op's output needs. onnxruntime's quantizer removes
// such an activation (and quantizes the op's output with its output's
// scale and zero point); AIMET and the QNN converters quantize the pair as
// one. Here the activation stays and its input shares its output's
// encoding: the same numbers, since quantizing to a grid that starts at or
// above the clip's floor already clips.
const FUSES_ACTIVATION = new Set(['Conv', 'ConvTranspose', 'MatMul', 'Gemm', 'Add', 'Mul']);
const REMOVABLE_ACTIVATION = new Set(['Relu', 'Clip']);

// With `concat`, a Concat's inputs take its output's encoding (which holds
// all their values): one scale across the Concat, as TFLite's int8 rules
// and Qualcomm's HTP want. Last Concat first, so that a Concat feeding
// another passes the outer one's encoding on to its own inputs.
function concatPairs(graph) {
  const pairs = [];
  for (const node of [...graph.node].reverse()) {
    if (node.opType !== 'Concat' || !isDefaultDomain(node.domain)) continue;
    for (const name of node.input) if (name) pairs.push([name, node.output[0]]);
  }
  return pairs;
}

// Each output of a value-moving op gets its input's encoding, in graph
// order so that chains (Reshape → Transpose) follow.
function moverPairs(graph) {
  return graph.node.filter(movesValues).flatMap((node) => node.output.map((out) => [out, node.input[0]]));
}

// The output of a fusing op read only by a Relu or Clip takes the
// activation's output encoding (sharedEncodings' caller turns this off for
// symmetric activations, whose grid holds negative values: onnxruntime
// keeps the pair then).
function activationPairs(graph) {
  const readers = readersByName(allGraphs(graph));
  const producer = new Map(graph.node.flatMap((n) => n.output.map((o) => [o, n])));
  const outputs = new Set(graph.output.map((o) => o.name));
  const pairs = [];
  for (const node of graph.node) {
    if (!REMOVABLE_ACTIVATION.has(node.opType) || !isDefaultDomain(node.domain)) continue;
    const input = node.input[0];
    const from = producer.get(input);
    if (!from || !FUSES_ACTIVATION.has(from.opType) || !isDefaultDomain(from.domain)) continue;
    if (readers.get(input)?.length === 1 && !outputs.has(input)) pairs.push([input, node.output[0]]);
  }
  return pairs;
}

/**
 * Which activations take another's encoding: [target, source] pairs in the
 * order they apply (a target's source may itself be a target of an earlier
 * pair). The Concat rule (options.concat) comes first and wins: a
 * Concat's input keeps the Concat's encoding, so a Resize feeding it
 * requantizes in onnxruntime instead of running on the codes.
 */
export function sharedEncodings(graph, { concat = false, movers = true, activations = true } = {}) {
  const pairs = concat ? concatPairs(graph) : [];
  const taken = new Set(pairs.map(([target]) => target));
  const rest = [...(movers ? moverPairs(graph) : []), ...(activations ? activationPairs(graph) : [])];
  return [...pairs, ...rest.filter(([target]) => !taken.has(target))];
}

// Gives each pair's target its source's encoding (the same object), where
// both are activations and the source has one.
export function shareEncodings(pairs, activations) {
  const byName = new Map(activations.map((a) => [a.name, a]));
  for (const [target, source] of pairs) {
    const to = byName.get(target);
    const from = byName.get(source);
    if (to && from?.encoding) to.encoding = from.encoding;
  }
}

// A Softmax's outputs lie in [0, 1] whatever the calibration inputs gave:
// they take the encoding of [0, 1], as onnxruntime's quantizer fixes it,
// so that an input the model is surer of than of any calibration input is
// not clipped (the tf or symmetric encoding whatever the scheme: a
// histogram of two values says nothing).
export const softmaxOutputs = (graph) =>
  new Set(graph.node.filter((n) => n.opType === 'Softmax' && isDefaultDomain(n.domain)).map((n) => n.output[0]));

export function fixSoftmaxRanges(graph, activations, wq, options) {
  const outputs = softmaxOutputs(graph);
  const rows = activations.filter((a) => outputs.has(a.name));
  if (rows.length === 0) return;
  const scheme = options.scheme === 'symmetric' ? 'symmetric' : 'tf';
  const { encoding } = wq.quantize(Float32Array.of(0, 1), { ...options, scheme, percentile: undefined });
  for (const row of rows) row.encoding = encoding;
}
