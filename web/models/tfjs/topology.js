// Which op (graph models) or layer (layers models) reads each weight, and
// in what role, from a model.json's modelTopology.
import { describe, fail, isPlainObject } from '../../formats/common.js';

// ---------------------------------------------------------------------------
// What reads each weight: ops and roles.

// Graph-model ops and which of their inputs are a weight (conv filter,
// matrix, embedding table) or a bias (BiasAdd's, or the first fused arg of
// the fused ops); any other input is 'other'.
const GRAPH_WEIGHT_INPUTS = {
  Conv1D: { weight: [1] },
  Conv2D: { weight: [1] },
  Conv3D: { weight: [1] },
  Conv2DBackpropInput: { weight: [1] },
  DepthwiseConv2dNative: { weight: [1] },
  DepthwiseConv2D: { weight: [1] },
  _FusedConv2D: { weight: [1], bias: [2] },
  FusedConv2D: { weight: [1], bias: [2] },
  FusedDepthwiseConv2dNative: { weight: [1], bias: [2] },
  _FusedDepthwiseConv2dNative: { weight: [1], bias: [2] },
  MatMul: { weight: [0, 1] },
  BatchMatMul: { weight: [0, 1] },
  BatchMatMulV2: { weight: [0, 1] },
  _FusedMatMul: { weight: [0, 1], bias: [2] },
  FusedMatMul: { weight: [0, 1], bias: [2] },
  Einsum: { weight: [0, 1] },
  BiasAdd: { bias: [1] },
  Gather: { weight: [0] },
  GatherV2: { weight: [0] },
  ResourceGather: { weight: [0] },
};

const ROLE_RANK = { weight: 3, bias: 2, other: 1 };

function graphRole(op, inputIndex, control) {
  if (control) return 'other';
  const table = GRAPH_WEIGHT_INPUTS[op];
  if (table?.weight?.includes(inputIndex)) return 'weight';
  if (table?.bias?.includes(inputIndex)) return 'bias';
  return 'other';
}

// All node lists of a graph model: the main graph, function bodies (control
// flow) and the initializer graph (hash tables).
function graphNodes(json) {
  const lists = [json.modelTopology?.node, json.modelInitializer?.node];
  const functions = json.modelTopology?.library?.function;
  if (Array.isArray(functions)) for (const f of functions) lists.push(f?.nodeDef);
  return lists
    .filter(Array.isArray)
    .flat()
    .filter((n) => isPlainObject(n) && typeof n.name === 'string');
}

// name → [{ op, role }] for every node input: "x", "x:0" and "^x" (a
// control edge, which does not read the value) all refer to node "x".
// Identity nodes pass their consumers on to the weight they forward.
export function graphConsumers(json) {
  const nodes = graphNodes(json);
  const readers = new Map();
  for (const node of nodes) {
    if (!Array.isArray(node.input)) continue;
    node.input.forEach((input, index) => {
      if (typeof input !== 'string') return;
      const control = input.startsWith('^');
      const source = input.replace(/^\^/, '').replace(/:\d+$/, '');
      if (!readers.has(source)) readers.set(source, []);
      readers.get(source).push({ node, index, control });
    });
  }
  // A worklist, not recursion: a file may chain any number of Identities.
  return (name) => {
    const seen = new Set([name]);
    const pending = [name];
    const out = [];
    while (pending.length) {
      for (const { node, index, control } of readers.get(pending.pop()) ?? []) {
        const op = typeof node.op === 'string' ? node.op : 'unknown';
        if (control || (op !== 'Identity' && op !== 'Snapshot')) out.push({ op, role: graphRole(op, index, control) });
        else if (!seen.has(node.name)) {
          seen.add(node.name);
          pending.push(node.name);
        }
      }
    }
    return out;
  };
}

// The consumer that says most about the weight: a filter/matrix read beats
// a bias read beats anything else.
export function strongest(uses) {
  let best;
  for (const use of uses) if (!best || ROLE_RANK[use.role] > ROLE_RANK[best.role]) best = use;
  return best ?? { op: 'unknown', role: 'other' };
}

// Every layer of a Keras config by name, nested models (Functional,
// Sequential, Model: config.layers, or an old Sequential's bare array) and
// wrappers (TimeDistributed, Bidirectional: config.layer) included.
export function kerasLayers(topology) {
  const byName = new Map();
  const visit = (layer, depth) => {
    if (!isPlainObject(layer) || depth > 32) return;
    const config = layer.config;
    const name = typeof layer.name === 'string' ? layer.name : config?.name;
    if (typeof name === 'string' && typeof layer.class_name === 'string' && !byName.has(name)) byName.set(name, layer.class_name);
    const children = Array.isArray(config) ? config : Array.isArray(config?.layers) ? config.layers : [];
    for (const child of children) visit(child, depth + 1);
    if (isPlainObject(config?.layer)) visit(config.layer, depth + 1);
    if (isPlainObject(config?.backward_layer)) visit(config.backward_layer, depth + 1);
  };
  const root = isPlainObject(topology?.model_config) ? topology.model_config : topology;
  visit(root, 0);
  return byName;
}

const KERAS_WEIGHT_NAMES = new Set(['kernel', 'depthwise_kernel', 'pointwise_kernel', 'recurrent_kernel', 'embeddings']);
const KERAS_BIAS_NAMES = new Set(['bias', 'depthwise_bias', 'pointwise_bias', 'recurrent_bias']);

// "block/conv/kernel:0" → owner: the nearest path component naming a layer
// ("conv", else "block"); role from the variable name.
export function kerasUse(layers, name) {
  const parts = name.replace(/:\d+$/, '').split('/');
  const variable = parts.pop();
  const role = KERAS_WEIGHT_NAMES.has(variable) ? 'weight' : KERAS_BIAS_NAMES.has(variable) ? 'bias' : 'other';
  for (let i = parts.length - 1; i >= 0; i -= 1) {
    if (layers.has(parts[i])) return { op: layers.get(parts[i]), role };
  }
  return { op: 'unknown', role };
}

export function modelKind(json, file) {
  const topology = json.modelTopology;
  if (json.format === 'graph-model' || (isPlainObject(topology) && Array.isArray(topology.node))) return 'graph-model';
  if (
    json.format === 'layers-model' ||
    (isPlainObject(topology) && (isPlainObject(topology.model_config) || typeof topology.class_name === 'string'))
  ) {
    return 'layers-model';
  }
  return fail(
    Error,
    `${file} is neither a TF.js graph model (modelTopology.node) nor a layers model (modelTopology.model_config); format is ${describe(json.format)}`,
  );
}
