// onnxruntime's quantizer rule for a Relu or Clip after an op it fuses with,
// stated here independently of web/models/onnx/encoding-rules.js: when the
// op's output is read by the activation alone (in any graph) and is no
// graph output, it takes the activation's output encoding.
import { expect } from 'vitest';

const FUSING = new Set(['Conv', 'ConvTranspose', 'MatMul', 'Gemm', 'Add', 'Mul']);

function graphsOf(graph) {
  return [graph, ...graph.node.flatMap((n) => n.attribute.flatMap((a) => [...(a.g ? graphsOf(a.g) : []), ...a.graphs.flatMap(graphsOf)]))];
}

// Map: the op's output → the activation's output, over every graph. also:
// more op types to count as fusing (BatchNormalization, for a model whose
// norms calibrateModel folds into the Convs before them).
export function fusedActivations(model, also = []) {
  const fusing = new Set([...FUSING, ...also]);
  const graphs = graphsOf(model.graph);
  const reads = new Map();
  for (const g of graphs) for (const n of g.node) for (const i of n.input) reads.set(i, (reads.get(i) ?? 0) + 1);
  const out = new Map();
  for (const g of graphs) {
    const producer = new Map(g.node.flatMap((n) => n.output.map((o) => [o, n.opType])));
    const outputs = new Set(g.output.map((o) => o.name));
    for (const n of g.node) {
      const input = n.input[0];
      if (!['Relu', 'Clip'].includes(n.opType) || !fusing.has(producer.get(input))) continue;
      if (reads.get(input) === 1 && !outputs.has(input)) out.set(input, n.output[0]);
    }
  }
  return out;
}

// Each encoding holds its activation's observed range (tf: min/max, nudged
// by under a step), or, before a fused Relu or Clip, is that activation's
// output encoding (which clips); sqnr(sqnrDb, name) checks the others'.
export function expectRangesHeld(activations, fused, sqnr) {
  const byName = new Map(activations.map((a) => [a.name, a]));
  for (const { name, encoding, min, max, sqnrDb } of activations) {
    if (fused.has(name)) {
      expect(encoding, name).toEqual(byName.get(fused.get(name)).encoding);
      continue;
    }
    expect(encoding.min, name).toBeLessThanOrEqual(Math.min(min, 0) + encoding.scale);
    expect(encoding.max, name).toBeGreaterThanOrEqual(max - encoding.scale);
    sqnr(sqnrDb, name);
  }
}
