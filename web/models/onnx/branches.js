// onnxruntime returns only a model's graph outputs, and a value computed in
// an If branch is none: to calibrate it, calibration runs a model in which
// every If also outputs its branches' float values. A branch outputs its
// own values and an empty float tensor for each of the other branch's, so
// both keep the same outputs; nested Ifs pass theirs up the same way. The
// values of Loop and Scan bodies (one per iteration) are not lifted.
import { create } from '@bufbuild/protobuf';
import { attributeOf, isDefaultDomain, uniqueName } from './graph.js';
import { node } from './qdq.js';
import { rawTensor } from './tensors.js';
import { AttributeProtoSchema, AttributeProto_AttributeType, TypeProtoSchema, TypeProto_TensorSchema, ValueInfoProtoSchema } from './onnx_pb.js';

const FLOAT = 1;
const UINT8 = 2;
const INT64 = 7;
const BOOL = 9;
const TO_INT64 = new Set(['Shape', 'Size', 'NonZero', 'ArgMax', 'ArgMin', 'NonMaxSuppression']);
const TO_BOOL = new Set(['Equal', 'Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual', 'Not', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf']);

const elemTypeOf = (valueInfo) => (valueInfo.type?.value.case === 'tensorType' ? valueInfo.type.value.value.elemType : undefined);

// The element type of each value of `graph` and the graphs inside it, as
// far as its declarations and these rules tell (undefined where neither
// does): enough to tell float tensors from shapes, indices and masks.
export function valueTypes(graph, types = new Map()) {
  for (const v of [...graph.input, ...graph.valueInfo, ...graph.output]) {
    const t = elemTypeOf(v);
    if (t) types.set(v.name, t);
  }
  for (const t of graph.initializer) types.set(t.name, t.dataType);
  for (const n of graph.node) {
    for (const a of n.attribute) {
      if (a.g) valueTypes(a.g, types);
      for (const g of a.graphs) valueTypes(g, types);
    }
    outputTypes(n, types).forEach((t, k) => {
      if (n.output[k] && !types.has(n.output[k]) && t !== undefined) types.set(n.output[k], t);
    });
  }
  return types;
}

// The element types of a node's outputs; an op that these rules do not
// know takes its first known input's for all (wrong for an op that turns
// floats into integers, hence QuantizeLinear's and the index outputs).
function outputTypes(n, types) {
  const first = types.get(n.input.find((i) => i && types.has(i)));
  if (TO_INT64.has(n.opType)) return n.output.map(() => INT64);
  if (TO_BOOL.has(n.opType)) return n.output.map(() => BOOL);
  switch (n.opType) {
    case 'Cast':
      return [Number(attributeOf(n, 'to')?.i ?? 0) || undefined];
    case 'Constant':
      return [attributeOf(n, 'value')?.t?.dataType];
    case 'ConstantOfShape':
      return [attributeOf(n, 'value')?.t?.dataType ?? FLOAT];
    case 'If':
      return n.output.map((_, k) => types.get(attributeOf(n, 'then_branch')?.g?.output[k]?.name));
    case 'QuantizeLinear':
      return [types.get(n.input[2]) ?? UINT8];
    case 'DynamicQuantizeLinear':
      return [UINT8, FLOAT, UINT8];
    case 'TopK':
    case 'MaxPool':
      return [first, INT64];
    default:
      return n.output.map(() => first);
  }
}

const floatOutput = (name) =>
  create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, { value: { case: 'tensorType', value: create(TypeProto_TensorSchema, { elemType: FLOAT }) } }),
  });

// An empty float tensor: the stand-in for a value of the other branch.
const emptyFloat = (name, names) =>
  node('Constant', [], [name], uniqueName(names, `${name}_Constant`), [
    create(AttributeProtoSchema, { name: 'value', type: AttributeProto_AttributeType.TENSOR, t: rawTensor(name, 'float32', [0], new Uint8Array(0)) }),
  ]);

/**
 * Makes each If of `graph` (in place, at any depth) output the float values
 * of its branches that candidates(branch) lists; returns [{ outer, inner }]:
 * the name each such value has in `graph` (an If's new output) and in its
 * branch.
 */
export function liftBranchValues(graph, candidates, types, names) {
  const lifted = [];
  for (const n of graph.node) {
    if (n.opType !== 'If' || !isDefaultDomain(n.domain)) continue;
    const branches = ['then_branch', 'else_branch'].map((key) => attributeOf(n, key)?.g);
    if (branches.some((b) => !b)) continue;
    const values = branches.map((b) => [
      ...ownValues(b, candidates, types).map((inner) => ({ outer: inner, inner })),
      ...liftBranchValues(b, candidates, types, names),
    ]);
    values.forEach((list, side) => {
      for (const { outer, inner } of list) {
        branches.forEach((b, k) => {
          if (k === side && !b.output.some((o) => o.name === outer)) {
            b.output.push(floatOutput(outer));
          } else if (k === side) {
            // Already an output of the branch: a copy, as a graph lists an output once.
            const copy = uniqueName(names, `${outer}_copy`);
            b.node.push(node('Identity', [outer], [copy], uniqueName(names, `${copy}_Identity`)));
            b.output.push(floatOutput(copy));
          } else {
            const pad = uniqueName(names, `${inner}_empty`);
            b.node.push(emptyFloat(pad, names));
            b.output.push(floatOutput(pad));
          }
        });
        const alias = uniqueName(names, `${inner}_lifted`);
        n.output.push(alias);
        lifted.push({ outer: alias, inner });
      }
    });
  }
  return lifted;
}

// The float values a branch computes itself (not those of the graphs
// around it) among its candidates.
function ownValues(branch, candidates, types) {
  const produced = new Set(branch.node.flatMap((n) => n.output));
  return candidates(branch).filter((name) => produced.has(name) && types.get(name) === FLOAT);
}
