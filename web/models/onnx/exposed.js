// What calibration runs: the float model with the activations of its
// integer-capable ops exposed as outputs, and the nodes the caller keeps
// float (options.excludeNodes).
import { create } from '@bufbuild/protobuf';
import { liftBranchValues, valueTypes } from './branches.js';
import { movesValues } from './encoding-rules.js';
import { allGraphs, allNames, isDefaultDomain } from './graph.js';
import { ValueInfoProtoSchema } from './onnx_pb.js';
import { serializeModel } from './serialize.js';

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

// The tensors that calibration reads, by the graph that defines each (a
// value read in an If branch may come from a graph around it), in order:
// the inputs and outputs of quantized ops but parameters (initializers,
// Constants' outputs) and the outputs of excluded nodes (which run in
// float, so no pair may follow them).
function candidatesByGraph(model, excluded) {
  const graphs = allGraphs(model.graph).map((e) => e.graph);
  const definedIn = new Map();
  const skip = new Set();
  for (const graph of graphs) {
    for (const v of graph.input) definedIn.set(v.name, graph);
    for (const t of graph.initializer) skip.add(t.name);
    for (const n of graph.node) {
      for (const o of n.output) definedIn.set(o, graph);
      if (n.opType === 'Constant' || excluded.has(n)) n.output.forEach((o) => skip.add(o));
    }
  }
  const byGraph = new Map(graphs.map((graph) => [graph, new Set()]));
  for (const graph of graphs) {
    for (const node of graph.node) {
      if (!QUANTIZED_OPS.has(node.opType) || !isDefaultDomain(node.domain) || excluded.has(node)) continue;
      for (const name of [...node.input, ...node.output])
        if (name && !skip.has(name) && definedIn.has(name)) byGraph.get(definedIn.get(name)).add(name);
    }
  }
  return new Map([...byGraph].map(([graph, names]) => [graph, [...names]]));
}

// The model calibration runs: those tensors of the main graph as its
// outputs (onnxruntime infers their types), and the float ones of If
// branches through their If's outputs (onnx/branches.js). names: the
// tensors' own names, in graph order; outer: the output that gives each.
// omit(names) gives those of the main graph's that need no output (whose
// encodings come from others): still named, not exposed.
export function exposedModel(model, excluded = new Set(), omit = () => new Set()) {
  const g = model.graph;
  const byGraph = candidatesByGraph(model, excluded);
  const lifted = liftBranchValues(g, (b) => byGraph.get(b) ?? [], valueTypes(g), allNames(allGraphs(g)));
  const outputs = new Set(g.output.map((o) => o.name));
  const omitted = omit(byGraph.get(g));
  const entries = [...byGraph.get(g).map((name) => ({ outer: name, inner: name })), ...lifted];
  for (const { outer } of entries) if (!outputs.has(outer) && !omitted.has(outer)) g.output.push(create(ValueInfoProtoSchema, { name: outer }));
  return {
    bytes: serializeModel(model),
    names: entries.map((e) => e.inner),
    outer: new Map(entries.map((e) => [e.inner, e.outer])),
  };
}

// The nodes of every graph that options.excludeNodes matches, and the
// weights that only they read (which stay float). An op that only moves
// values (Transpose, Reshape, …) is excluded only when what it reads is
// not quantized either; else it stays (`movers`): onnxruntime would move
// the DequantizeLinear past it anyway, and does so wrongly when what it
// outputs is read inside a subgraph.
export function excludedNodes(model, exclude) {
  const nodes = new Set();
  let movers = [];
  if (!exclude) return { nodes, movers, weights: new Set() };
  const readers = new Map();
  for (const { graph } of allGraphs(model.graph)) {
    for (const n of graph.node) {
      const view = { name: n.name, opType: n.opType, domain: n.domain, inputs: [...n.input], outputs: [...n.output] };
      if (exclude(view)) {
        if (movesValues(n)) movers.push(n);
        else nodes.add(n);
      }
      for (const i of n.input) {
        if (!readers.has(i)) readers.set(i, []);
        readers.get(i).push(n);
      }
    }
  }
  // Excluding one can free the next in a chain (Slice → Reshape).
  for (let freed = true; freed;) {
    const quantized = new Set([...candidatesByGraph(model, nodes).values()].flat());
    const free = movers.filter((m) => !quantized.has(m.input[0]));
    free.forEach((m) => nodes.add(m));
    movers = movers.filter((m) => !free.includes(m));
    freed = free.length > 0;
  }
  const weights = new Set([...readers].filter(([, list]) => list.every((n) => nodes.has(n))).map(([name]) => name));
  return { nodes, movers, weights };
}

const someNames = (nodes) => {
  const names = nodes.map((n) => n.name || n.opType);
  return `${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''}`;
};

export function exclusionNotes({ nodes, movers }) {
  const notes = [];
  if (nodes.size === 0 && movers.length === 0) notes.push('excludeNodes matched no node');
  if (nodes.size > 0) notes.push(`excludeNodes: ${nodes.size} ${nodes.size === 1 ? 'node stays' : 'nodes stay'} float (${someNames([...nodes])})`);
  if (movers.length > 0) {
    notes.push(
      `excludeNodes: ${movers.length} matched ops that only move quantized values, left quantized: onnxruntime runs them on the codes anyway (${someNames(movers)})`,
    );
  }
  return notes;
}
