// The runtime computes with exactly the weights SPEC §2/§3 define: a MatMul
// of the identity (or a Gather of every row) returns the dequantized weight
// itself, which must equal an independent double-precision reference of
// the encoding and codes (either neighbour at a near-tie), in every output
// format and in both runtimes. Graph optimisations are off: with them,
// onnxruntime replaces an 8-bit DequantizeLinear + MatMul by its own
// integer kernels, whose float products round differently (a few ulps).
const UNOPTIMIZED = { graphOptimizationLevel: 'disabled' };
import { beforeAll, describe, expect, it } from 'vitest';
import { createQuantizer } from '../../../web/index.js';
import { quantizeModel } from '../../../web/models/index.js';
import { allowedCodes, refEncodingOf, roundHalfUp } from '../helpers.js';
import { encode, floatTensor, graph, model, node, randomWeights, valueInfo } from './onnx-builder.js';
import { RUNTIMES, runOnnx } from './runtimes.js';

let wq;
beforeAll(async () => {
  wq = await createQuantizer();
});

function identity(k) {
  const x = new Float32Array(k * k);
  for (let i = 0; i < k; i += 1) x[i * k + i] = 1;
  return x;
}

// y = I_K · W: the dequantized W, exactly (one non-zero product a sum).
function matmulModel(K, N, seed) {
  const W = randomWeights(K * N, seed);
  const m = model(
    graph({
      nodes: [node('MatMul', ['x', 'W'], ['y'])],
      inputs: [valueInfo('x', [K, K])],
      outputs: [valueInfo('y', [K, N])],
      initializers: [floatTensor('W', [K, N], W)],
    }),
  );
  return { W, bytes: encode(m), feeds: { x: { dims: [K, K], data: identity(K) } } };
}

// The reference encoding of `values` (§2 tf, or §3.1 symmetric).
function refEncoding(values, bitwidth, symmetric) {
  if (!symmetric) return refEncodingOf(values, { bitwidth });
  let absmax = 0.005; // minRange / 2
  for (const v of values) absmax = Math.max(absmax, Math.abs(v));
  const half = 2 ** (bitwidth - 1);
  return { bitwidth, scale: absmax / (half - 1), offset: -half, symmetric: true };
}

// The dequantized values x may take: from each allowed code.
function allowedValues(x, enc) {
  if (!enc.symmetric) return allowedCodes(x, enc).map((q) => (q + enc.offset) * enc.scale);
  const t = x / enc.scale;
  const slack = 1e-5 + 3e-7 * Math.abs(t); // SPEC §2's allowance near a half step
  const half = 2 ** (enc.bitwidth - 1);
  const clamp = (s) => Math.min(Math.max(s, -half), half - 1);
  return [...new Set([clamp(roundHalfUp(t - slack)), clamp(roundHalfUp(t + slack))])].map((s) => s * enc.scale);
}

// Groups of W's element indices that share one encoding.
function groups(K, N, { axis, blockSize }) {
  const column = (n, from = 0, to = K) => Array.from({ length: to - from }, (_, i) => (from + i) * N + n);
  if (blockSize) {
    const out = [];
    for (let b = 0; b * blockSize < K; b += 1) {
      for (let n = 0; n < N; n += 1) out.push(column(n, b * blockSize, Math.min(K, (b + 1) * blockSize)));
    }
    return out;
  }
  if (axis === 1) return Array.from({ length: N }, (_, n) => column(n));
  return [Array.from({ length: K * N }, (_, i) => i)];
}

function expectReferenceWeights(y, W, K, N, { bitwidth, symmetric, ...layout }, what) {
  let checked = 0;
  for (const indices of groups(K, N, layout)) {
    const enc = refEncoding(
      indices.map((i) => W[i]),
      bitwidth,
      symmetric,
    );
    for (const i of indices) {
      const allowed = allowedValues(W[i], enc);
      // float32 copies of scale in the runtime: a few ulps of the value.
      const ok = allowed.some((v) => Math.abs(y[i] - v) <= 2 ** -21 * Math.max(Math.abs(v), enc.scale));
      if (!ok) expect.fail(`${what}: W[${i}] = ${W[i]} dequantized to ${y[i]}, expected one of ${allowed}`);
      checked += 1;
    }
  }
  expect(checked).toBe(K * N);
}

const CASES = [
  { options: { perChannel: false }, expected: { bitwidth: 8, symmetric: false, axis: null } },
  { options: {}, expected: { bitwidth: 8, symmetric: false, axis: 1 } },
  { options: { symmetric: true }, expected: { bitwidth: 8, symmetric: true, axis: 1 } },
  { options: { bitwidth: 16 }, expected: { bitwidth: 16, symmetric: false, axis: 1 } },
  { options: { bitwidth: 16, symmetric: true }, expected: { bitwidth: 16, symmetric: true, axis: 1 } },
  { options: { bitwidth: 4 }, expected: { bitwidth: 4, symmetric: false, axis: 1 } },
  { options: { bitwidth: 4, symmetric: true, blockSize: 16 }, expected: { bitwidth: 4, symmetric: true, blockSize: 16 } },
  { options: { bitwidth: 8, blockSize: 32 }, expected: { bitwidth: 8, symmetric: false, blockSize: 32 } },
  { options: { format: 'matmulnbits' }, expected: { bitwidth: 4, symmetric: false, blockSize: 32 } },
  { options: { format: 'matmulnbits', symmetric: true, blockSize: 16 }, expected: { bitwidth: 4, symmetric: true, blockSize: 16 } },
  { options: { format: 'matmulnbits', bitwidth: 8 }, expected: { bitwidth: 8, symmetric: false, blockSize: 32 } },
];

describe('MatMul weights: the runtime sees exactly the reference dequantized weights', () => {
  // K = 70 is not a multiple of any block size: the last block is short.
  const K = 70;
  const N = 24;
  for (const { options, expected } of CASES) {
    it(JSON.stringify(options), async () => {
      const { W, bytes, feeds } = matmulModel(K, N, 7);
      const result = await quantizeModel({ 'mm.onnx': bytes }, { quantizer: wq, ...options });
      const row = result.tensors.find((t) => t.name === 'W');
      expect(row).toMatchObject({ action: 'quantize', bitwidth: expected.bitwidth, symmetric: expected.symmetric });
      expect(row.blockSize ?? null).toBe(expected.blockSize ?? null);
      for (const [runtime, ort] of Object.entries(RUNTIMES)) {
        const { y } = await runOnnx(ort, result.files['mm.onnx'], feeds, UNOPTIMIZED);
        expectReferenceWeights(y, W, K, N, expected, runtime);
        // The row's SQNR (SPEC §4) is that of the weights the runtime uses.
        let signal = 0;
        let error = 0;
        for (let i = 0; i < W.length; i += 1) {
          signal += W[i] * W[i];
          error += (y[i] - W[i]) ** 2;
        }
        expect(Math.abs(row.sqnrDb - 10 * Math.log10(signal / error)), runtime).toBeLessThan(1e-3);
      }
    });
  }
});

describe('Gather (embeddings)', () => {
  it('a Gather of every row returns the reference per-tensor dequantized table', async () => {
    const V = 50;
    const D = 40;
    const table = randomWeights(V * D, 11);
    const bytes = encode(
      model(
        graph({
          nodes: [node('Gather', ['E', 'ids'], ['y'])],
          inputs: [valueInfo('ids', [V], 7)],
          outputs: [valueInfo('y', [V, D])],
          initializers: [floatTensor('E', [V, D], table)],
        }),
      ),
    );
    const result = await quantizeModel({ 'g.onnx': bytes }, { quantizer: wq });
    expect(result.tensors[0]).toMatchObject({ op: 'Gather', action: 'quantize', axis: null, storage: 'uint8' });
    const ids = { ids: { type: 'int64', dims: [V], data: BigInt64Array.from({ length: V }, (_, i) => BigInt(i)) } };
    for (const [runtime, ort] of Object.entries(RUNTIMES)) {
      const { y } = await runOnnx(ort, result.files['g.onnx'], ids, UNOPTIMIZED);
      expectReferenceWeights(y, table, V, D, { bitwidth: 8, symmetric: false, axis: null }, runtime);
    }
  });
});
