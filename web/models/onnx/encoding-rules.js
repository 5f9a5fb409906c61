// The encoding rules of activations that onnxruntime's quantizer applies
// after calibration: outputs of value-moving ops share their input's
// encoding, a Softmax's output takes that of [0, 1].

// Ops that only move or select their first input's values: their outputs
// take that input's encoding, as onnxruntime's quantizer does, so the Q/DQ
// pairs around them cancel and they run on the codes (Resize but cubic,
// which can overshoot the input's range).
const SAME_AS_INPUT = new Set(['Reshape', 'Transpose', 'Squeeze', 'Unsqueeze', 'Flatten', 'Split', 'Slice', 'Gather', 'MaxPool', 'Resize']);

function movesValues(node) {
  if (!SAME_AS_INPUT.has(node.opType) || (node.domain !== '' && node.domain !== 'ai.onnx')) return false;
  const mode = node.attribute.find((a) => a.name === 'mode');
  return node.opType !== 'Resize' || !mode || new TextDecoder().decode(mode.s) !== 'cubic';
}

// Each output of a value-moving op gets its input's encoding (the same
// object), in graph order so that chains (Reshape → Transpose) follow.
export function shareEncodings(graph, activations) {
  const byName = new Map(activations.map((a) => [a.name, a]));
  for (const node of graph.node) {
    const from = byName.get(node.input[0]);
    if (!from || !movesValues(node)) continue;
    for (const out of node.output) {
      const a = byName.get(out);
      if (a) a.encoding = from.encoding;
    }
  }
}

// A Softmax's outputs lie in [0, 1] whatever the calibration inputs gave:
// they take the encoding of [0, 1], as onnxruntime's quantizer fixes it,
// so that an input the model is surer of than of any calibration input is
// not clipped (the tf or symmetric encoding whatever the scheme: a
// histogram of two values says nothing).
export function fixSoftmaxRanges(graph, activations, wq, options) {
  const outputs = new Set(graph.node.filter((n) => n.opType === 'Softmax' && (n.domain === '' || n.domain === 'ai.onnx')).map((n) => n.output[0]));
  const rows = activations.filter((a) => outputs.has(a.name));
  if (rows.length === 0) return;
  const scheme = options.scheme === 'symmetric' ? 'symmetric' : 'tf';
  const { encoding } = wq.quantize(Float32Array.of(0, 1), { ...options, scheme, percentile: undefined });
  for (const row of rows) row.encoding = encoding;
}
