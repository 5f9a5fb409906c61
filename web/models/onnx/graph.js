// The graphs of an ONNX model (the main graph and every If/Loop/Scan body,
// at any depth), the tensors they hold (initializers and Constant nodes),
// and the op and role of each tensor's readers.

const isDefaultDomain = (domain) => domain === '' || domain === 'ai.onnx';

// [{ graph, path }] for the main graph and every subgraph, depth first.
export function allGraphs(graph, path = 'graph') {
  const out = [{ graph, path }];
  for (const node of graph.node) {
    for (const a of node.attribute) {
      const where = `${path}/${node.name || node.opType}.${a.name}`;
      if (a.g) out.push(...allGraphs(a.g, where));
      a.graphs.forEach((g, i) => out.push(...allGraphs(g, `${where}[${i}]`)));
    }
  }
  return out;
}

// Every tensor a graph holds: { tensor, name, graph, path, node } (node:
// the Constant node holding it, else undefined).
export function heldTensors(graphs) {
  const out = [];
  for (const { graph, path } of graphs) {
    for (const tensor of graph.initializer) out.push({ tensor, name: tensor.name, graph, path });
    for (const node of graph.node) {
      if (node.opType !== 'Constant' || !isDefaultDomain(node.domain)) continue;
      const value = node.attribute.find((a) => a.name === 'value' && a.t);
      if (value) out.push({ tensor: value.t, name: node.output[0], graph, path, node });
    }
  }
  return out;
}

// name → [{ node, index }] over all graphs: an inner graph may read names
// of the graphs around it.
export function readersByName(graphs) {
  const readers = new Map();
  for (const { graph } of graphs) {
    for (const node of graph.node) {
      node.input.forEach((name, index) => {
        if (name === '') return;
        if (!readers.has(name)) readers.set(name, []);
        readers.get(name).push({ node, index });
      });
    }
  }
  return readers;
}

export const attributeOf = (node, name) => node.attribute.find((a) => a.name === name);

const intAttribute = (node, name, fallback) => {
  const a = attributeOf(node, name);
  return a ? Number(a.i) : fallback;
};

// The role of input `index` of a default-domain op, and the axes of the
// weight for per-channel (output channels) and blocks (the reduction axis).
const ROLES = {
  Conv: (i) => (i === 1 ? { role: 'weight', channelAxis: 0, blockAxis: 1 } : i === 2 ? { role: 'bias' } : null),
  ConvTranspose: (i) => (i === 1 ? { role: 'weight', channelAxis: 1, blockAxis: 0 } : i === 2 ? { role: 'bias' } : null),
  MatMul: (i, rank) => (i === 1 && rank >= 2 ? { role: 'weight', channelAxis: rank - 1, blockAxis: rank - 2 } : null),
  Gemm: (i, rank, node) => {
    if (i === 2) return { role: 'bias' };
    if (i !== 1) return null;
    const transB = intAttribute(node, 'transB', 0) === 1;
    return { role: 'weight', channelAxis: transB ? 0 : 1, blockAxis: transB ? 1 : 0 };
  },
  Gather: (i, rank) => (i === 0 ? { role: 'weight', channelAxis: null, blockAxis: rank - 1 } : null),
  LSTM: (i) => (i === 1 || i === 2 ? { role: 'weight', channelAxis: null, blockAxis: null } : i === 3 ? { role: 'bias' } : null),
};
ROLES.GRU = ROLES.LSTM;
ROLES.RNN = ROLES.LSTM;

const OTHER = { role: 'other', channelAxis: null, blockAxis: null };

// What a tensor is to the ops that read it. A tensor read in more than one
// role (a weight also added somewhere) is 'other': quantizing it would
// change what the other reader sees.
export function usageOf(readers, rank) {
  if (!readers || readers.length === 0) return { op: 'none', ...OTHER };
  const uses = readers.map(({ node, index }) => {
    const roleOf = isDefaultDomain(node.domain) ? ROLES[node.opType] : undefined;
    return { op: node.opType, ...OTHER, ...(roleOf?.(index, rank, node) ?? {}) };
  });
  const ops = [...new Set(uses.map((u) => u.op))];
  const first = uses[0];
  const same = uses.every(
    (u) => u.op === first.op && u.role === first.role && u.channelAxis === first.channelAxis && u.blockAxis === first.blockAxis,
  );
  if (!same) return { op: ops.join('+'), ...OTHER };
  return { channelAxis: null, blockAxis: null, ...first, op: ops[0] };
}

// Every value name in the model, to keep new names unique.
export function allNames(graphs) {
  const names = new Set();
  for (const { graph } of graphs) {
    for (const t of graph.initializer) names.add(t.name);
    for (const v of [...graph.input, ...graph.output, ...graph.valueInfo]) names.add(v.name);
    for (const node of graph.node) {
      for (const n of [...node.input, ...node.output]) names.add(n);
      if (node.name) names.add(node.name);
    }
  }
  return names;
}

export function uniqueName(names, wanted) {
  let name = wanted;
  for (let i = 1; names.has(name); i += 1) name = `${wanted}_${i}`;
  names.add(name);
  return name;
}

export { isDefaultDomain };
