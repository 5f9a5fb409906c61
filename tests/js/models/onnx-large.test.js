// A model over 2 GiB — past what one protobuf file can hold — with its
// weights in an external data file read lazily from disk (fs.openAsBlob):
// quantized, written with external data, and run in onnxruntime-node.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create } from '@bufbuild/protobuf';
import { createQuantizer } from '../../../web/index.js';
import { quantizeModel } from '../../../web/models/index.js';
import { StringStringEntryProtoSchema, TensorProtoSchema } from '../../../web/models/onnx/onnx_pb.js';
import { T, encode, graph, model, node, valueInfo } from './onnx-builder.js';
import { RUNTIMES, closeness, runOnnx } from './runtimes.js';

const LAYERS = 9;
const D = 8192; // 9 × 256 MiB = 2.25 GiB of float32 weights
let dir;
let wq;

// Weights that are cheap to make (a linear congruential generator) and
// spread like trained ones, different per layer.
function fillLayer(buffer, l) {
  let s = (l + 1) * 2654435761;
  for (let i = 0; i < buffer.length; i += 1) {
    s = (Math.imul(s, 1664525) + 1013904223) | 0;
    buffer[i] = (s / 2 ** 31) * (i % 1009 === 0 ? 4 : 1);
  }
}

function externalTensor(name, offset, length) {
  const entry = (key, value) => create(StringStringEntryProtoSchema, { key, value: String(value) });
  return create(TensorProtoSchema, {
    name,
    dims: [BigInt(D), BigInt(D)],
    dataType: T.FLOAT,
    dataLocation: 1,
    externalData: [entry('location', 'big.onnx.data'), entry('offset', offset), entry('length', length)],
  });
}

beforeAll(async () => {
  wq = await createQuantizer();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wasmquant-large-'));
  const layer = new Float32Array(D * D);
  const fd = fs.openSync(path.join(dir, 'big.onnx.data'), 'w');
  const initializers = [];
  const nodes = [];
  const outputs = [];
  // Side by side, not chained: each output is one layer's MatMul of x.
  for (let l = 0; l < LAYERS; l += 1) {
    fillLayer(layer, l);
    fs.writeSync(fd, new Uint8Array(layer.buffer));
    initializers.push(externalTensor(`W${l}`, l * layer.byteLength, layer.byteLength));
    nodes.push(node('MatMul', ['x', `W${l}`], [`y${l}`]));
    outputs.push(valueInfo(`y${l}`, [1, D]));
  }
  fs.closeSync(fd);
  const m = model(graph({ nodes, inputs: [valueInfo('x', [1, D])], outputs, initializers }));
  fs.writeFileSync(path.join(dir, 'big.onnx'), encode(m));
}, 300_000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('a 2.25 GiB model with external data', () => {
  it('quantizes from a lazily read Blob into a model and data file onnxruntime runs', async () => {
    const data = path.join(dir, 'big.onnx.data');
    expect(fs.statSync(data).size).toBeGreaterThan(2 ** 31);
    const files = { 'big.onnx': fs.readFileSync(path.join(dir, 'big.onnx')), 'big.onnx.data': await fs.openAsBlob(data) };
    const result = await quantizeModel(files, { quantizer: wq });
    expect(result.totals.quantized).toBe(LAYERS);
    expect(result.files['big.onnx.data'].length).toBeLessThan(0.26 * 2 ** 31 * 1.2);
    const out = fs.mkdtempSync(path.join(dir, 'out-'));
    for (const [name, bytes] of Object.entries(result.files)) fs.writeFileSync(path.join(out, name), bytes);
    const feeds = { x: { dims: [1, D], data: Float32Array.from({ length: D }, (_, i) => Math.cos(i * 0.01)) } };
    const ort = RUNTIMES['onnxruntime-node'];
    const float = await runOnnx(ort, path.join(dir, 'big.onnx'), feeds);
    const q = await runOnnx(ort, path.join(out, 'big.onnx'), feeds);
    for (let l = 0; l < LAYERS; l += 1) expect(closeness(float[`y${l}`], q[`y${l}`]).cosine).toBeGreaterThan(0.999);
  }, 600_000);
});
