// The encoding rules of activations that onnxruntime's quantizer applies
// after calibration: outputs of value-moving ops share their input's
// encoding (and a Concat's inputs its output's, on request), a Softmax's
// output takes that of [0, 1].
import { attributeOf, isDefaultDomain } from './graph.js';

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

// With `concat`, a Concat's inputs take its output's encoding (which holds
// all their values): one scale across the Concat, as TFLite's int8 rules
// and Qualcomm's HTP want. Last Concat first, so that a Concat feeding
// another passes the outer one's encoding on to its own inputs.
function shareConcat(graph, byName) {
  const taken = new Set();
  for (const node of [...graph.node].reverse()) {
    const out = byName.get(node.output[0]);
    if (node.opType !== 'Concat' || !isDefaultDomain(node.domain) || !out) continue;
    for (const name of node.input) {
      const a = byName.get(name);
      if (!a) continue;
      a.encoding = out.encoding;
      taken.add(name);
    }
  }
  return taken;
}

// Each output of a value-moving op gets its input's encoding (the same
// object), in graph order so that chains (Reshape → Transpose) follow
// (options.movers); a Concat's inputs keep the Concat's (options.concat),
// so a Resize feeding it requantizes in onnxruntime instead of running on
// the codes.
export function shareEncodings(graph, activations, { concat = false, movers = true } = {}) {
  const byName = new Map(activations.map((a) => [a.name, a]));
  const taken = concat ? shareConcat(graph, byName) : new Set();
  for (const node of movers ? graph.node : []) {
    const from = byName.get(node.input[0]);
    if (!from || !movesValues(node)) continue;
    for (const out of node.output) {
      const a = byName.get(out);
      if (a && !taken.has(out)) a.encoding = from.encoding;
    }
  }
}

// A Softmax's outputs lie in [0, 1] whatever the calibration inputs gave:
// they take the encoding of [0, 1], as onnxruntime's quantizer fixes it,
// so that an input the model is surer of than of any calibration input is
// not clipped (the tf or symmetric encoding whatever the scheme: a
// histogram of two values says nothing).
export function fixSoftmaxRanges(graph, activations, wq, options) {
  const outputs = new Set(graph.node.filter((n) => n.opType === 'Softmax' && isDefaultDomain(n.domain)).map((n) => n.output[0]));
  const rows = activations.filter((a) => outputs.has(a.name));
  if (rows.length === 0) return;
  const scheme = options.scheme === 'symmetric' ? 'symmetric' : 'tf';
  const { encoding } = wq.quantize(Float32Array.of(0, 1), { ...options, scheme, percentile: undefined });
  for (const row of rows) row.encoding = encoding;
}
