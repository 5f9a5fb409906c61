// What calibration runs: the float model with the activations of its
// integer-capable ops exposed as outputs, and the nodes the caller keeps
// float (options.excludeNodes).
import { create, toBinary } from '@bufbuild/protobuf';
import { allGraphs } from './graph.js';
import { ModelProtoSchema, ValueInfoProtoSchema } from './onnx_pb.js';

// Ops onnxruntime's QDQ transformer can run in integers (its QLinear* and
// integer kernels, and the data movers it keeps quantized): the tensors
// they read or write are the activations calibrated and given Q/DQ pairs.
// Others (the parts of a decomposed LayerNorm, Pow, Sqrt, ...) stay float.
const QUANTIZED_OPS = new Set([
  'Conv',
  'ConvTranspose',
  'MatMul',
  'Gemm',
  'Add',
  'Mul',
  'Concat',
  'MaxPool',
  'AveragePool',
  'GlobalAveragePool',
  'Relu',
  'Clip',
  'LeakyRelu',
  'Sigmoid',
  'Softmax',
  'Resize',
  'Reshape',
  'Transpose',
  'Squeeze',
  'Unsqueeze',
  'Flatten',
  'Split',
  'Gather',
  'Pad',
  'Slice',
]);

// The main graph's tensors that calibration reads: the inputs and outputs
// of its quantized ops but Constants' outputs (parameters) and the outputs
// of excluded nodes (which run in float, so no pair may follow them), as
// graph outputs (onnxruntime infers their types).
export function exposedModel(model, excluded = new Set()) {
  const g = model.graph;
  const initializers = new Set(g.initializer.map((t) => t.name));
  const outputs = new Set(g.output.map((o) => o.name));
  const names = [];
  const seen = new Set();
  const add = (name) => {
    if (!name || initializers.has(name) || seen.has(name)) return;
    seen.add(name);
    names.push(name);
  };
  const constants = new Set(g.node.filter((n) => n.opType === 'Constant' || excluded.has(n)).flatMap((n) => n.output));
  for (const node of g.node) {
    if (!QUANTIZED_OPS.has(node.opType) || (node.domain !== '' && node.domain !== 'ai.onnx') || excluded.has(node)) continue;
    for (const name of [...node.input, ...node.output]) if (!constants.has(name)) add(name);
  }
  for (const name of names) if (!outputs.has(name)) g.output.push(create(ValueInfoProtoSchema, { name }));
  return { bytes: toBinary(ModelProtoSchema, model), names };
}

// The nodes of every graph that options.excludeNodes matches, and the
// weights that only they read (which stay float).
export function excludedNodes(model, exclude) {
  const nodes = new Set();
  if (!exclude) return { nodes, weights: new Set() };
  const readers = new Map();
  for (const { graph } of allGraphs(model.graph)) {
    for (const n of graph.node) {
      const view = { name: n.name, opType: n.opType, domain: n.domain, inputs: [...n.input], outputs: [...n.output] };
      if (exclude(view)) nodes.add(n);
      for (const i of n.input) {
        if (!readers.has(i)) readers.set(i, []);
        readers.get(i).push(n);
      }
    }
  }
  const weights = new Set([...readers].filter(([, list]) => list.every((n) => nodes.has(n))).map(([name]) => name));
  return { nodes, weights };
}

export function exclusionNote(nodes) {
  if (nodes.size === 0) return 'excludeNodes matched no node';
  const names = [...nodes].map((n) => n.name || n.opType);
  return `excludeNodes: ${nodes.size} ${nodes.size === 1 ? 'node stays' : 'nodes stay'} float (${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''})`;
}
