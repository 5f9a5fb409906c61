// serializeModel writes the big raw_data of initializers and Constant nodes
// straight into one buffer, out of protobuf-es's field order: the bytes
// must parse back to the same message, and a runtime must run them as it
// runs toBinary's.
import { describe, expect, it } from 'vitest';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, StringStringEntryProtoSchema } from '../../../web/models/onnx/onnx_pb.js';
import { layoutOf, serializeModel } from '../../../web/models/onnx/serialize.js';
import { encode, floatTensor, graph, model, node, randomWeights, valueInfo } from './onnx-builder.js';
import { RUNTIMES, runOnnx } from './runtimes.js';

// x [1, K] → MatMul(W1) → Add(b) → Mul(two) → MatMul(W2) → If(c: Identity(k) | MatMul(W3))
// … with raw_data lengths around the varint steps (2^14, 2^21 bytes), a
// small tensor between the big ones, and W2 and two in Constant nodes (as
// Paddle's exporter writes every weight), a big one among small nodes.
function sample() {
  const K = 512; // W1: 512 × 1024 × 4 = 2 MiB: a 4-byte length
  const N = 1024;
  const then = graph({
    name: 'then',
    nodes: [node('Identity', ['k'], ['t'])],
    inputs: [],
    outputs: [valueInfo('t', [1, 20])],
    initializers: [floatTensor('k', [1, 20], randomWeights(20, 9))],
  });
  const otherwise = graph({
    name: 'else',
    nodes: [node('MatMul', ['h2', 'W3'], ['e'])],
    inputs: [],
    outputs: [valueInfo('e', [1, 20])],
    initializers: [floatTensor('W3', [20, 20], randomWeights(400, 10))],
  });
  const m = model(
    graph({
      nodes: [
        node('MatMul', ['x', 'W1'], ['h']),
        node('Add', ['h', 'b'], ['h0']),
        node('Constant', [], ['two'], { value: floatTensor('two', [1], Float32Array.of(2)) }),
        node('Mul', ['h0', 'two'], ['h1']),
        node('Constant', [], ['W2'], { value: floatTensor('W2', [N, 20], randomWeights(N * 20, 3)) }), // 80 KiB: a 3-byte length
        node('MatMul', ['h1', 'W2'], ['h2']),
        node('If', ['c'], ['y'], { then_branch: then, else_branch: otherwise }),
      ],
      inputs: [valueInfo('x', [1, K]), valueInfo('c', [], 9)],
      outputs: [valueInfo('y', [1, 20])],
      initializers: [floatTensor('W1', [K, N], randomWeights(K * N, 1)), floatTensor('b', [N], randomWeights(N, 2))],
    }),
  );
  m.metadataProps = [create(StringStringEntryProtoSchema, { key: 'after', value: 'the graph' })];
  return m;
}

describe('serializeModel', () => {
  it('parses back to the message it was given, which it leaves as it was', () => {
    const m = sample();
    const before = encode(m);
    const bytes = serializeModel(m);
    expect(bytes.length).toBe(before.length);
    expect(Buffer.compare(Buffer.from(encode(fromBinary(ModelProtoSchema, bytes))), Buffer.from(before))).toBe(0);
    expect(Buffer.compare(Buffer.from(encode(m)), Buffer.from(before))).toBe(0);
    expect(m.graph.initializer.map((t) => t.name)).toEqual(['W1', 'b']);
    expect(m.graph.node.map((n) => n.output[0])).toEqual(['h', 'h0', 'two', 'h1', 'W2', 'h2', 'y']);
  });

  it('is toBinary for a model without big tensors', () => {
    const m = model(
      graph({ nodes: [node('MatMul', ['x', 'W'], ['y'])], inputs: [], outputs: [], initializers: [floatTensor('W', [4, 4], randomWeights(16))] }),
    );
    expect(Buffer.compare(Buffer.from(serializeModel(m)), Buffer.from(toBinary(ModelProtoSchema, m)))).toBe(0);
  });

  it('writes into a sink that holds a raw_data where it lands, and not into one where it does not', () => {
    const m = sample();
    const before = serializeModel(m);
    const W1 = m.graph.initializer[0];
    const { length, offsets } = layoutOf(m);
    expect(length).toBe(before.length);
    for (const shift of [0, 1]) {
      const sink = new Uint8Array(length);
      const at = offsets.get(W1.rawData) + shift;
      const raw = W1.rawData;
      sink.set(raw, at);
      W1.rawData = sink.subarray(at, at + raw.length);
      const bytes = serializeModel(m, sink);
      W1.rawData = raw;
      expect(bytes === sink).toBe(shift === 0);
      expect(Buffer.compare(Buffer.from(bytes), Buffer.from(before))).toBe(0);
    }
    expect(serializeModel(m, new Uint8Array(length + 1)).length).toBe(length);
  });

  for (const [runtime, ort] of Object.entries(RUNTIMES)) {
    it(`runs in ${runtime} exactly as toBinary's bytes do`, async () => {
      const m = sample();
      for (const c of [true, false]) {
        const feeds = { x: { data: randomWeights(512, 5), dims: [1, 512] }, c: { type: 'bool', data: [c], dims: [] } };
        const ours = await runOnnx(ort, serializeModel(m), feeds);
        const theirs = await runOnnx(ort, encode(m), feeds);
        expect(Array.from(ours.y)).toEqual(Array.from(theirs.y));
      }
    });
  }
});
