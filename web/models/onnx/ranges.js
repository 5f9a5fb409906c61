// The model that tf and symmetric calibration runs: the exposed model with
// each float activation reduced inside onnxruntime to its min, max and sum
// (the sum is NaN when any value is: onnxruntime's ReduceMin and ReduceMax
// pass a NaN over), all in one output, so that a run hands a few numbers
// to JavaScript instead of every activation (megabytes a run, which cost
// onnxruntime-node several times the model's own run).
import { create, fromBinary } from '@bufbuild/protobuf';
import { allNames, allGraphs, uniqueName } from './graph.js';
import { defaultOpset } from './opset.js';
import { intAttr, node } from './qdq.js';
import { bytesOf, rawTensor } from './tensors.js';
import { ModelProtoSchema, ValueInfoProtoSchema } from './onnx_pb.js';
import { serializeModel } from './serialize.js';

export const RANGES_OUTPUT = 'wasmquant_ranges';

// Reshape takes its shape as an input from opset 5 on.
export const rangesSupported = (model) => defaultOpset(model) >= 5;

/**
 * exposed: the exposed model's bytes; outputs: the names of its outputs to
 * reduce. Returns the bytes of a model with one output, RANGES_OUTPUT:
 * [min of each, max of each, sum of each] (float32); an empty output gives
 * min > max.
 */
export function rangesModel(exposed, outputs) {
  const model = fromBinary(ModelProtoSchema, exposed);
  const g = model.graph;
  const names = allNames(allGraphs(g));
  const flat = uniqueName(names, 'wasmquant_flat');
  g.initializer.push(rawTensor(flat, 'int64', [1], bytesOf(BigInt64Array.of(-1n))));
  // Each activation flattened once, then reduced to one value each way:
  // four nodes an activation (onnxruntime-node pays microseconds a node).
  const parts = { ReduceMin: [], ReduceMax: [], ReduceSum: [] };
  for (const name of outputs) {
    const line = uniqueName(names, `${name}_flat`);
    g.node.push(node('Reshape', [name, flat], [line], uniqueName(names, `${line}_Reshape`)));
    for (const op of Object.keys(parts)) {
      const reduced = uniqueName(names, `${name}_${op}`);
      g.node.push(node(op, [line], [reduced], uniqueName(names, `${reduced}_node`), [intAttr('keepdims', 1)]));
      parts[op].push(reduced);
    }
  }
  const all = [...parts.ReduceMin, ...parts.ReduceMax, ...parts.ReduceSum];
  g.node.push(node('Concat', all, [RANGES_OUTPUT], uniqueName(names, `${RANGES_OUTPUT}_Concat`), [intAttr('axis', 0)]));
  g.output = [create(ValueInfoProtoSchema, { name: RANGES_OUTPUT })];
  return serializeModel(model);
}
