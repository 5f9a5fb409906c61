// The benchmark itself, shared by the Node runner (bench/run.js) and the
// browser page (bench/page.js). It imports nothing: each host passes in its
// own createQuantizer, onnxruntime-web namespace, clock and gc, so the two
// runs execute exactly the same contenders, data and timing loop.

import { dynamicQuantizeLinearModel } from './onnx-model.js';

export const SIZES = Object.freeze([4096, 65536, 1 << 20, 1 << 24]);
export const SEED = 0x5eed1234;

// What one run of the suite does. `samples` is per size: the median of that
// many timed samples is reported; `warmup` discarded rounds run first. A
// sample of a fast contender is a batch of calls lasting about `batchMs`, so
// the clock's resolution (5 µs or 100 µs in browsers) does not matter.
export function plan({ quick = false, browser = false } = {}) {
  if (quick) {
    return {
      sizes: SIZES.slice(0, 3),
      samples: { 4096: 5, 65536: 5, 1048576: 5 },
      warmup: 1,
      batchMs: 2,
    };
  }
  return {
    sizes: SIZES.slice(),
    samples: { 4096: 31, 65536: 31, 1048576: 21, 16777216: browser ? 7 : 11 },
    warmup: 2,
    batchMs: 10,
  };
}

// The contenders, in the order they appear in tables. "e2e" starts from a
// JS Float32Array; "in wasm memory" starts from a float32 WasmTensor the
// caller filled beforehand and writes into a WasmTensor (no copy at all).
export const CONTENDERS = Object.freeze([
  { key: 'e2eSimd128', label: 'ours e2e, simd128: wq.quantize(x), Float32Array → new Uint8Array (calibrate+quantize)' },
  { key: 'e2eOutSimd128', label: 'ours e2e, simd128, into a caller’s Uint8Array (options.out)' },
  { key: 'e2eScalar', label: 'ours e2e, scalar (→ new Uint8Array)' },
  { key: 'quantizeGiven', label: 'ours quantize with a given encoding (simd128, → new Uint8Array)' },
  { key: 'dequantize', label: 'ours dequantize (simd128, Uint8Array → new Float32Array)' },
  { key: 'dequantizeOut', label: 'ours dequantize into a caller’s Float32Array (options.out)' },
  { key: 'analyze', label: 'ours analyze (simd128, from a Float32Array)' },
  { key: 'memSimd128', label: 'ours in wasm memory, calibrate+quantize, simd128 (float32 tensor → uint8 tensor)' },
  { key: 'memScalar', label: 'ours in wasm memory, calibrate+quantize, scalar (float32 tensor → uint8 tensor)' },
  { key: 'memDequantize', label: 'ours in wasm memory, dequantize (simd128, uint8 tensor → float32 tensor)' },
  { key: 'memAnalyze', label: 'ours in wasm memory, analyze (simd128, float32 tensor)' },
  { key: 'plainJs', label: 'plain JS (typed arrays, same algorithm, → new Uint8Array)' },
  { key: 'onnxruntime', label: 'onnxruntime-web DynamicQuantizeLinear (wasm, 1 thread)' },
  { key: 'yardstick', label: 'yardstick: copy Float32Array into wasm memory' },
  // Not a target's yardstick: what any API that returns a new Float32Array
  // (dequantize) pays at least, fresh memory being slower to write than reused.
  { key: 'freshArray', label: 'for reference: new Float32Array(n).set(x)' },
]);

// Ratios reported at every size. `speedup: true` means "how many times
// faster ours is" (theirs / ours); otherwise it is ours / theirs (lower is
// better). The targets in bench/run.js refer to these keys.
export const RATIOS = Object.freeze([
  { key: 'e2eVsOnnxruntime', num: 'onnxruntime', den: 'e2eSimd128', speedup: true, label: 'e2e speed-up vs onnxruntime-web' },
  { key: 'e2eVsPlainJs', num: 'plainJs', den: 'e2eSimd128', speedup: true, label: 'e2e speed-up vs plain JS' },
  { key: 'e2ePerYardstick', num: 'e2eSimd128', den: 'yardstick', label: 'e2e / yardstick' },
  {
    key: 'e2eOutVsOnnxruntime',
    num: 'onnxruntime',
    den: 'e2eOutSimd128',
    speedup: true,
    label: 'e2e into a caller’s Uint8Array: speed-up vs onnxruntime-web',
  },
  { key: 'e2eOutVsPlainJs', num: 'plainJs', den: 'e2eOutSimd128', speedup: true, label: 'e2e into a caller’s Uint8Array: speed-up vs plain JS' },
  { key: 'e2eOutPerYardstick', num: 'e2eOutSimd128', den: 'yardstick', label: 'e2e into a caller’s Uint8Array / yardstick' },
  { key: 'memPerYardstick', num: 'memSimd128', den: 'yardstick', label: 'in-memory calibrate+quantize / yardstick' },
  {
    key: 'memVsOnnxruntime',
    num: 'onnxruntime',
    den: 'memSimd128',
    speedup: true,
    label: 'in-memory calibrate+quantize speed-up vs onnxruntime-web',
  },
  { key: 'memDequantizePerYardstick', num: 'memDequantize', den: 'yardstick', label: 'in-memory dequantize / yardstick' },
  { key: 'dequantizePerYardstick', num: 'dequantize', den: 'yardstick', label: 'dequantize → new Float32Array / yardstick' },
  { key: 'dequantizePerFreshArray', num: 'dequantize', den: 'freshArray', label: 'dequantize → new Float32Array / new Float32Array(n).set(x)' },
  { key: 'dequantizeOutPerYardstick', num: 'dequantizeOut', den: 'yardstick', label: 'dequantize into a caller’s Float32Array / yardstick' },
  { key: 'analyzeMemPerYardstick', num: 'memAnalyze', den: 'yardstick', label: 'in-memory analyze / yardstick' },
  { key: 'analyzePerYardstick', num: 'analyze', den: 'yardstick', label: 'analyze from a Float32Array / yardstick' },
  {
    key: 'simd128VsScalarMem',
    num: 'memScalar',
    den: 'memSimd128',
    speedup: true,
    label: 'simd128 speed-up vs scalar (in-memory calibrate+quantize)',
  },
  { key: 'simd128VsScalarE2e', num: 'e2eScalar', den: 'e2eSimd128', speedup: true, label: 'simd128 speed-up vs scalar (e2e)' },
]);

// The correctness cross-checks, in the order they appear in RESULTS.md; each
// counts elements that differ from the reference. All must be 0 except
// plainJsVsOurs (double vs float32 arithmetic, see the method notes).
export const CHECKS = Object.freeze([
  { key: 'scalarVsSimd128', label: 'e2e scalar vs e2e simd128' },
  { key: 'outVsE2e', label: 'e2e into options.out vs e2e' },
  { key: 'inMemoryVsE2e', label: 'in memory simd128 vs e2e' },
  { key: 'inMemoryScalarVsE2e', label: 'in memory scalar vs e2e' },
  { key: 'givenVsE2e', label: 'given encoding vs e2e' },
  { key: 'dequantizeOutVsDequantize', label: 'dequantize into options.out vs dequantize (float32 bits)' },
  { key: 'inMemoryDequantizeVsDequantize', label: 'in memory dequantize vs dequantize (float32 bits)' },
  { key: 'inMemoryAnalyzeVsAnalyze', label: 'in memory analyze vs analyze (differing fields)' },
  { key: 'plainJsVsOurs', label: 'plain JS vs ours' },
]);

// ---------------------------------------------------------------- data

// splitmix32 → uniform (0, 1), then Box–Muller: standard normal float32 data,
// the same bits in every engine for the same seed.
export function normalData(n, seed = SEED) {
  let state = seed >>> 0;
  const uniform = () => {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    z ^= z >>> 16;
    return ((z >>> 0) + 0.5) / 4294967296;
  };
  const x = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(uniform()));
    const phi = 2 * Math.PI * uniform();
    x[i] = r * Math.cos(phi);
    if (i + 1 < n) x[i + 1] = r * Math.sin(phi);
  }
  return x;
}

// ---------------------------------------------------------------- plain JS

// A straightforward, fair JavaScript version of SPEC §2 (tf, 8 bits,
// half-up): one min/max pass, the encoding in double, then
// floor(x * inv + z + 0.5) clamped into a Uint8Array. Like the library it
// refuses non-finite ranges (±Inf; NaN is skipped by the comparisons).
export function plainJsQuantize(x, minRange = 0.01) {
  const n = x.length;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = x[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new RangeError('plainJs: non-finite data');
  hi = Math.max(hi, lo + minRange);
  if (lo > 0) lo = 0;
  if (hi < 0) hi = 0;
  const steps = 255;
  const scale = (hi - lo) / steps;
  let z = Math.round(-lo / scale); // -lo/scale >= 0: half-up = half away from zero
  if (z < 0) z = 0;
  if (z > steps) z = steps;
  const inv = 1 / scale;
  const bias = z + 0.5;
  const codes = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const q = Math.floor(x[i] * inv + bias);
    codes[i] = q < 0 ? 0 : q > steps ? steps : q;
  }
  const min = -z * scale;
  return { codes, encoding: { bitwidth: 8, min, max: min + steps * scale, scale, offset: -z } };
}

// ---------------------------------------------------------------- helpers

// ONNX DynamicQuantizeLinear in float32 as the spec writes it: the range
// includes 0, scale = (max - min) / 255, zero point = RNE(-min / scale)
// saturated, y = saturate(RNE(x / scale) + zero point). Used to confirm that
// the differences from our codes are the formula's and not a harness error.
function roundHalfEven(t) {
  const r = Math.round(t);
  return r - t === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function onnxDynamicQuantizeModel(x) {
  const f = Math.fround;
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < x.length; i++) {
    if (x[i] < lo) lo = x[i];
    if (x[i] > hi) hi = x[i];
  }
  const scale = f(f(hi - lo) / 255);
  const zp = Math.min(255, Math.max(0, roundHalfEven(f(-lo / scale))));
  const codes = new Uint8Array(x.length);
  for (let i = 0; i < x.length; i++) {
    codes[i] = Math.min(255, Math.max(0, roundHalfEven(f(x[i] / scale)) + zp));
  }
  return { codes, scale, zeroPoint: zp };
}

function median(values) {
  const s = values.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function compareCodes(a, b) {
  let differing = 0;
  let maxDiff = 0;
  let firstIndex = -1;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d !== 0) {
      if (firstIndex < 0) firstIndex = i;
      differing++;
      if (d > maxDiff) maxDiff = d;
    }
  }
  return { differing, fraction: differing / a.length, maxDiff, firstIndex };
}

let sink = 0; // keeps results observably used
function consume(result) {
  sink = (sink + (result?.length ?? result?.mse ?? 0)) | 0;
}

// ---------------------------------------------------------------- one size

async function createOrtSession(ort, n) {
  return ort.InferenceSession.create(dynamicQuantizeLinearModel(n), {
    executionProviders: ['wasm'],
    graphOptimizationLevel: 'all',
  });
}

// Same float32 values bit for bit (Float32Array or float32 WasmTensor data).
function compareFloatBits(a, b) {
  return compareCodes(new Uint32Array(a.buffer, a.byteOffset, a.length), new Uint32Array(b.buffer, b.byteOffset, b.length));
}

// analyze() results: the number of fields (encoding included) that differ.
function compareAnalyses(a, b) {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  let differing = 0;
  for (const k of keys) {
    const same = k === 'encoding' ? JSON.stringify(a[k]) === JSON.stringify(b[k]) : Object.is(a[k], b[k]);
    if (!same) differing++;
  }
  return { differing, fields: keys.size, maxDiff: 0 };
}

// `out` options must come back as the result itself: a harness error otherwise.
function expectSame(got, out, what) {
  if (got !== out) throw new Error(`bench: ${what} did not return options.out`);
  return got;
}

// Builds the contenders for one tensor; every `run` returns its output so the
// work cannot be skipped. Returns them with a `dispose` for the wasm memory.
// Every output buffer (options.out) is allocated once here, as a caller that
// quantizes tensors of one shape again and again would.
async function setUp(env, x) {
  const { simd, scalar, ort } = env;
  const n = x.length;
  const tensors = [];
  const alloc = (q, dtype) => {
    const t = q.allocTensor(n, dtype);
    tensors.push(t);
    return t;
  };

  try {
    // In wasm memory: the float32 inputs, filled once, the uint8 codes and the
    // float32 dequantized values.
    const tSimd = alloc(simd, 'float32');
    const tScalar = alloc(scalar, 'float32');
    tSimd.data.set(x);
    tScalar.data.set(x);
    const codesSimd = alloc(simd, 'uint8');
    const codesScalar = alloc(scalar, 'uint8');
    const valuesSimd = alloc(simd, 'float32');
    // In JS memory: the caller's preallocated outputs.
    const codesOut = new Uint8Array(n);
    const valuesOut = new Float32Array(n);

    const { codes, encoding } = simd.quantize(x);
    codesSimd.data.set(codes); // the in-memory dequantize's input
    const session = await createOrtSession(ort, n);
    tensors.push({ free: () => session.release() });

    const run = {
      e2eSimd128: () => simd.quantize(x).codes,
      e2eOutSimd128: () => simd.quantize(x, { out: codesOut }).codes,
      e2eScalar: () => scalar.quantize(x).codes,
      quantizeGiven: () => simd.quantize(x, { encoding }).codes,
      dequantize: () => simd.dequantize(codes, encoding),
      dequantizeOut: () => simd.dequantize(codes, encoding, { out: valuesOut }),
      analyze: () => simd.analyze(x),
      memSimd128: () => simd.quantize(tSimd, { out: codesSimd }).codes,
      memScalar: () => scalar.quantize(tScalar, { out: codesScalar }).codes,
      memDequantize: () => simd.dequantize(codesSimd, encoding, { out: valuesSimd }),
      memAnalyze: () => simd.analyze(tSimd),
      plainJs: () => plainJsQuantize(x).codes,
      onnxruntime: async () => {
        const out = await session.run({ x: new ort.Tensor('float32', x, [n]) });
        return out.y.data;
      },
      yardstick: () => {
        const view = tSimd.data;
        view.set(x);
        return view;
      },
      freshArray: () => {
        const copy = new Float32Array(n);
        copy.set(x);
        return copy;
      },
    };
    const contenders = CONTENDERS.map((c) => ({
      ...c,
      run: run[c.key],
      isAsync: c.key === 'onnxruntime',
    }));

    // Correctness cross-checks, outside the timing. The outputs are cleared
    // first, so a call that wrote nothing cannot pass on an earlier result.
    const ortOut = await session.run({ x: new ort.Tensor('float32', x, [n]) });
    const halfEven = simd.quantize(x, { rounding: 'half-even' });
    const plain = plainJsQuantize(x);
    const ortScale = ortOut.y_scale.data[0];
    const ortZeroPoint = ortOut.y_zero_point.data[0];
    const ortMismatch = {
      comparedWith: "ours, scheme 'tf', rounding 'half-even' (simd128)",
      ...compareCodes(ortOut.y.data, halfEven.codes),
      ortScale,
      ortZeroPoint,
      oursScale: halfEven.encoding.scale,
      oursZeroPoint: -halfEven.encoding.offset,
      scaleRelDiff: Math.abs(ortScale - halfEven.encoding.scale) / halfEven.encoding.scale,
      // onnxruntime vs onnxDynamicQuantizeModel (the ONNX formula in JS): 0 expected.
      ortVsOnnxFormulaInJs: compareCodes(ortOut.y.data, onnxDynamicQuantizeModel(x).codes).differing,
    };

    codesOut.fill(0);
    expectSame(run.e2eOutSimd128(), codesOut, 'quantize(x, { out: Uint8Array })');
    codesSimd.data.fill(0);
    expectSame(run.memSimd128(), codesSimd, 'quantize(tensor, { out: uint8 tensor }) (simd128)');
    codesScalar.data.fill(0);
    expectSame(run.memScalar(), codesScalar, 'quantize(tensor, { out: uint8 tensor }) (scalar)');
    const values = simd.dequantize(codes, encoding);
    valuesOut.fill(0);
    expectSame(run.dequantizeOut(), valuesOut, 'dequantize(codes, encoding, { out: Float32Array })');
    codesSimd.data.set(codes);
    valuesSimd.data.fill(0);
    expectSame(run.memDequantize(), valuesSimd, 'dequantize(uint8 tensor, encoding, { out: float32 tensor })');

    const checks = {
      scalarVsSimd128: compareCodes(scalar.quantize(x).codes, codes),
      outVsE2e: compareCodes(codesOut, codes),
      inMemoryVsE2e: compareCodes(codesSimd.data, codes),
      inMemoryScalarVsE2e: compareCodes(codesScalar.data, codes),
      givenVsE2e: compareCodes(simd.quantize(x, { encoding }).codes, codes),
      dequantizeOutVsDequantize: compareFloatBits(valuesOut, values),
      inMemoryDequantizeVsDequantize: compareFloatBits(valuesSimd.data, values),
      inMemoryAnalyzeVsAnalyze: compareAnalyses(simd.analyze(tSimd), simd.analyze(x)),
      plainJsVsOurs: compareCodes(plain.codes, codes),
      oursEncoding: encoding,
      plainJsEncoding: plain.encoding,
    };
    const failed = CHECKS.filter((c) => c.key !== 'plainJsVsOurs' && checks[c.key].differing !== 0);
    if (failed.length) {
      env.log?.(`n=${n}: CROSS-CHECK FAILED: ${failed.map((c) => `${c.label}: ${checks[c.key].differing}`).join('; ')}`);
    }

    const dispose = async () => {
      for (const t of tensors.splice(0).reverse()) await t.free();
    };
    return { contenders, ortMismatch, checks, dispose };
  } catch (error) {
    for (const t of tensors.splice(0).reverse()) await t.free();
    throw error;
  }
}

async function timeBatch(c, batch, now) {
  let t0;
  let t1;
  if (c.isAsync) {
    t0 = now();
    for (let i = 0; i < batch; i++) consume(await c.run());
    t1 = now();
  } else {
    const run = c.run;
    t0 = now();
    for (let i = 0; i < batch; i++) consume(run());
    t1 = now();
  }
  return (t1 - t0) / batch;
}

// Round-robin: every round times each contender once, starting one further
// along each round so no contender always follows the same neighbour.
async function rounds(contenders, count, onSample, env) {
  const k = contenders.length;
  for (let r = 0; r < count; r++) {
    for (let j = 0; j < k; j++) {
      const c = contenders[(r + j) % k];
      if (env.gcBetween) env.gc?.();
      onSample(c, await timeBatch(c, c.batch, env.now), r);
    }
  }
}

export async function benchSize(env, n, p) {
  const x = normalData(n);
  const { contenders, ortMismatch, checks, dispose } = await setUp(env, x);
  try {
    const big = n >= 1 << 20;
    const runEnv = { ...env, gcBetween: big };
    // Warm-up: one call each (compilation), then each contender alone,
    // doubling its batch until one lasts batchMs, twice over (tier-up; the
    // second pass sizes the batch), then `warmup` discarded round-robin rounds.
    for (const c of contenders) await timeBatch(c, 1, env.now);
    for (const c of contenders) {
      let batch = 1;
      for (let pass = 0; pass < 2; pass++) {
        let total;
        for (;;) {
          total = (await timeBatch(c, batch, env.now)) * batch;
          if (total >= p.batchMs || batch >= 1 << 16) break;
          batch *= 2;
        }
        batch = Math.max(1, Math.round((batch * p.batchMs) / Math.max(total, 1e-3)));
      }
      c.batch = batch;
    }
    await rounds(contenders, p.warmup, () => {}, runEnv);
    const samples = Object.fromEntries(contenders.map((c) => [c.key, []]));
    const count = p.samples[n] ?? 5;
    await rounds(contenders, count, (c, ms) => samples[c.key].push(ms), runEnv);

    const timesMs = {};
    const stats = {};
    const elementsPerSec = {};
    for (const c of contenders) {
      const s = samples[c.key];
      timesMs[c.key] = median(s);
      stats[c.key] = {
        medianMs: timesMs[c.key],
        minMs: Math.min(...s),
        maxMs: Math.max(...s),
        samples: s.length,
        callsPerSample: c.batch,
        samplesMs: s.map((v) => Number(v.toPrecision(4))), // in the order taken
      };
      elementsPerSec[c.key] = n / (timesMs[c.key] / 1000);
    }
    const ratios = {};
    for (const r of RATIOS) ratios[r.key] = timesMs[r.num] / timesMs[r.den];
    ratios.e2eSingleCallUs = timesMs.e2eSimd128 * 1000;
    return { n, warmupRounds: p.warmup, timesMs, elementsPerSec, ratios, stats, ortMismatch, checks };
  } finally {
    await dispose();
    env.gc?.();
  }
}

// Runs every size of the plan. `env`: { createQuantizer, ort, now, gc?, log? }.
export async function runSuite(env, p) {
  const ort = env.ort;
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  const simd = await env.createQuantizer({ backend: 'simd128' });
  const scalar = await env.createQuantizer({ backend: 'scalar' });
  const log = env.log ?? (() => {});
  const full = { ...env, simd, scalar, ort };
  const sizes = {};
  for (const n of p.sizes) {
    const t0 = env.now();
    sizes[n] = await benchSize(full, n, p);
    const e2e = sizes[n].timesMs.e2eSimd128;
    log(`n=${n}: e2e simd128 ${e2e.toPrecision(4)} ms, done in ${((env.now() - t0) / 1000).toFixed(1)} s`);
  }
  return { plan: p, seed: SEED, backends: [simd.backend, scalar.backend], sizes };
}
