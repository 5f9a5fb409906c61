// With rounding: 'half-even' and the same float32 scale and zero point,
// wasmquant's codes are onnxruntime's QuantizeLinear codes (opset 21: uint8,
// int8, uint16, int16), bit for bit, and its dequantized values are
// DequantizeLinear's: SPEC §2 rounds fl(x / scale) to nearest even and adds
// the zero point afterwards, as ONNX does (saturate(RNE(x / scale) + zp)).
// Both runtimes (onnxruntime-node, onnxruntime-web's wasm build in Node),
// both backends. The values crowd around half steps: the float32 nearest to
// each half step and up to three float32 ulps either side, where x / scale
// and x * (1 / scale) round differently, plus random values and values far
// outside the range (saturation).
import { create } from '@bufbuild/protobuf';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TensorProtoSchema } from '../../web/models/onnx/onnx_pb.js';
import { BACKENDS, mulberry32, quantizerFor } from './helpers.js';
import { T, encode, floatTensor, graph, model, node, valueInfo } from './models/onnx-builder.js';

ortWeb.env.wasm.numThreads = 1;
const RUNTIMES = { 'onnxruntime-node': ortNode, 'onnxruntime-web': ortWeb };

// 2^22 values per case, 12 cases: 50M values fed to each runtime and each
// backend, 200M compared codes in all.
const N = 1 << 22;

const DTYPES = {
  uint8: { elem: T.UINT8, Array: Uint8Array, bitwidth: 8, signed: false },
  int8: { elem: T.INT8, Array: Int8Array, bitwidth: 8, signed: true },
  uint16: { elem: T.UINT16, Array: Uint16Array, bitwidth: 16, signed: false },
  int16: { elem: T.INT16, Array: Int16Array, bitwidth: 16, signed: true },
};

// Scales are float32 values (ONNX's scale is a float32 tensor). Signed
// codes are wasmquant's symmetric encodings (zero point 0, SPEC §3.1);
// unsigned ones take any zero point, odd ones included.
const CASES = [
  { dtype: 'uint8', scale: 0.0123456789, zp: 0 },
  { dtype: 'uint8', scale: 0.0123456789, zp: 127 },
  { dtype: 'uint8', scale: 1 / 3, zp: 200 },
  { dtype: 'uint8', scale: 2 ** -7, zp: 255 },
  { dtype: 'uint8', scale: 0.0070588234, zp: 1 },
  { dtype: 'int8', scale: 0.0123456789, zp: 0 },
  { dtype: 'int8', scale: 2 ** -6, zp: 0 },
  { dtype: 'uint16', scale: 3.50957503e-5, zp: 51289 },
  { dtype: 'uint16', scale: 1.2345e-4, zp: 32768 },
  { dtype: 'uint16', scale: 6.3464697e-6, zp: 65535 },
  { dtype: 'int16', scale: 3.0517578125e-5, zp: 0 },
  { dtype: 'int16', scale: 1.2345e-4, zp: 0 },
].map((c) => ({ ...c, scale: Math.fround(c.scale) }));

function codeRange({ dtype }) {
  const d = DTYPES[dtype];
  return d.signed ? [-(2 ** (d.bitwidth - 1)), 2 ** (d.bitwidth - 1) - 1] : [0, 2 ** d.bitwidth - 1];
}

function encodingOf({ dtype, scale, zp }) {
  const d = DTYPES[dtype];
  return d.signed
    ? { bitwidth: d.bitwidth, scale, offset: -(2 ** (d.bitwidth - 1)), isSymmetric: true }
    : { bitwidth: d.bitwidth, scale, offset: 0 - zp, isSymmetric: false };
}

function zeroPointTensor(name, { dtype, zp }) {
  const d = DTYPES[dtype];
  return create(TensorProtoSchema, {
    name,
    dims: [],
    dataType: d.elem,
    rawData: new Uint8Array(d.Array.of(zp).buffer),
  });
}

// y = QuantizeLinear(x, scale, zp) and z = DequantizeLinear(q, scale, zp),
// per tensor, opset 21.
function models(c) {
  const d = DTYPES[c.dtype];
  const init = () => [floatTensor('scale', [], [c.scale]), zeroPointTensor('zp', c)];
  const quantize = model(
    graph({
      nodes: [node('QuantizeLinear', ['x', 'scale', 'zp'], ['y'])],
      inputs: [valueInfo('x', ['n'])],
      outputs: [valueInfo('y', ['n'], d.elem)],
      initializers: init(),
    }),
    { opset: 21, ir: 10 },
  );
  const dequantize = model(
    graph({
      nodes: [node('DequantizeLinear', ['q', 'scale', 'zp'], ['y'])],
      inputs: [valueInfo('q', ['n'], d.elem)],
      outputs: [valueInfo('y', ['n'])],
      initializers: init(),
    }),
    { opset: 21, ir: 10 },
  );
  return { quantize: encode(quantize), dequantize: encode(dequantize) };
}

// The float32 d ulps from f (d may be negative), by bit pattern; f != 0.
const bits = new Uint32Array(1);
const asFloat = new Float32Array(bits.buffer);
function ulpsFrom(f, d) {
  asFloat[0] = f;
  bits[0] += d; // sign-magnitude: larger bits, larger magnitude
  return asFloat[0];
}

function inputs(c, seed) {
  const [lo, hi] = codeRange(c);
  const z = DTYPES[c.dtype].signed ? 0 : c.zp;
  // s = x / scale spans the codes minus z, and a little beyond.
  const sLo = lo - z - 3;
  const sHi = hi - z + 3;
  const rand = mulberry32(seed);
  const x = new Float32Array(N);
  let i = 0;
  // Half steps k + 0.5 and the floats around them.
  while (i + 7 <= (N * 3) / 4) {
    const k = Math.floor(sLo + rand() * (sHi - sLo));
    const tie = Math.fround((k + 0.5) * c.scale);
    if (tie === 0) continue;
    for (let d = -3; d <= 3; d += 1) x[i++] = ulpsFrom(tie, d);
  }
  // Random values over the range, a few far outside it, and zeros.
  while (i < N) {
    const r = rand();
    if (r < 0.01) x[i++] = (rand() - 0.5) * 1e6 * c.scale * (hi - lo);
    else if (r < 0.015) x[i++] = rand() < 0.5 ? 0 : -0;
    else x[i++] = Math.fround((sLo + rand() * (sHi - sLo)) * c.scale);
  }
  return x;
}

// Every code of the type, several times over.
function allCodes(c) {
  const [lo, hi] = codeRange(c);
  const d = DTYPES[c.dtype];
  const q = new d.Array(Math.max(1 << 16, hi - lo + 1));
  for (let i = 0; i < q.length; i += 1) q[i] = lo + ((i * 7919) % (hi - lo + 1));
  return q;
}

const sessions = [];
async function session(ort, bytes) {
  const s = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled' });
  sessions.push(s);
  return s;
}

function firstDifference(a, b) {
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return i;
  return -1;
}

function sameBits(a, b) {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i += 1) if (ua[i] !== ub[i]) return i;
  return -1;
}

let quantizers;
beforeAll(async () => {
  quantizers = Object.fromEntries(await Promise.all(BACKENDS.map(async (b) => [b, await quantizerFor(b)])));
});
afterAll(async () => {
  for (const s of sessions) await s.release?.();
});

describe.each(CASES.map((c, index) => ({ ...c, index, name: `${c.dtype} scale ${c.scale} zero point ${c.zp}` })))(
  'onnxruntime bit identity: $name',
  (c) => {
    it('QuantizeLinear and DequantizeLinear', async () => {
      const bytes = models(c);
      const x = inputs(c, 1234 + c.index);
      const codes = allCodes(c);
      const encoding = encodingOf(c);
      const d = DTYPES[c.dtype];
      const ours = {};
      for (const backend of BACKENDS) {
        const q = quantizers[backend].quantize(x, { encoding, rounding: 'half-even' }).codes;
        expect(q).toBeInstanceOf(d.Array);
        const back = quantizers[backend].dequantize(codes, encoding);
        ours[backend] = { q, back };
      }
      for (const [name, ort] of Object.entries(RUNTIMES)) {
        const qs = await session(ort, bytes.quantize);
        const want = (await qs.run({ x: new ort.Tensor('float32', x, [x.length]) })).y.data;
        const ds = await session(ort, bytes.dequantize);
        const wantBack = (await ds.run({ q: new ort.Tensor(c.dtype, codes, [codes.length]) })).y.data;
        for (const backend of BACKENDS) {
          const { q, back } = ours[backend];
          const i = firstDifference(q, want);
          if (i >= 0) {
            expect.fail(
              `${backend} vs ${name}: x[${i}] = ${x[i]} (fl(x / scale) = ${Math.fround(x[i] / c.scale)}): code ${q[i]}, onnxruntime ${want[i]}`,
            );
          }
          const at = sameBits(back, wantBack);
          expect(at, `${backend} vs ${name}: dequantized code ${codes[at]}: ${back[at]} vs ${wantBack[at]}`).toBe(-1);
        }
      }
    });
  },
);

// The values crowd where the two products differ: x / scale and
// x * (1 / scale) round to different sides of a half step for some of them,
// which is what makes the division necessary.
it('the inputs include values where x * (1 / scale) and x / scale round apart', () => {
  let apart = 0;
  for (const c of CASES.filter((k) => k.dtype === 'uint16')) {
    const x = inputs(c, 1234 + CASES.indexOf(c));
    const inv = Math.fround(1 / c.scale);
    for (let i = 0; i < x.length; i += 1) {
      const div = Math.fround(x[i] / c.scale);
      const mul = Math.fround(x[i] * inv);
      if (div !== mul && Math.abs(div - Math.floor(div) - 0.5) < 1e-3) apart += 1;
    }
  }
  expect(apart).toBeGreaterThan(1000);
});
