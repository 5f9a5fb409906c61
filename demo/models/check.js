// The model check, run inside the package's worker (loaded with `extend`):
// the float model and the quantized one run on the same generated input,
// in onnxruntime-web (ONNX) or TF.js (cpu backend), and each output's
// distance is measured. The runtimes are imported by URL path on first use,
// from the repository's node_modules, so the page fetches nothing elsewhere.
import { closeness, generateInputs } from './inputs.js';
import { ORT_DIR, ORT_URL, TF_URL } from './runtimes.js';

let ort = null;
let tf = null;

async function loadOrt() {
  if (!ort) {
    const mod = await import(new URL(ORT_URL, self.location.origin).href);
    ort = mod.default?.InferenceSession ? mod.default : mod;
    // A page that is not cross-origin isolated cannot share wasm memory.
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.wasmPaths = new URL(ORT_DIR, self.location.origin).href;
  }
  return ort;
}

async function loadTf() {
  if (!tf) {
    tf = await import(new URL(TF_URL, self.location.origin).href);
    await tf.setBackend('cpu');
    await tf.ready();
  }
  return tf;
}

// ------------------------------------------------------------------ ONNX

async function onnxSession(model) {
  const runtime = await loadOrt();
  const externalData = Object.entries(model.files)
    .filter(([name]) => name !== model.main)
    .map(([path, data]) => ({ path, data }));
  // Fatal only: a failing run is thrown, and shown on the page, rather than also logged to the console.
  return runtime.InferenceSession.create(model.files[model.main], { externalData, graphOptimizationLevel: 'all', logSeverityLevel: 4 });
}

async function runOnnx(session, feeds) {
  const runtime = await loadOrt();
  const tensors = {};
  for (const f of feeds) tensors[f.name] = new runtime.Tensor(f.type, f.data, f.shape);
  const out = await session.run(tensors, { logSeverityLevel: 4 });
  return session.outputNames.map((name) => ({ name, shape: [...out[name].dims], data: out[name].data }));
}

async function checkOnnx(original, quantized, options, progress) {
  progress(0.05, 'Starting onnxruntime-web');
  const float = await onnxSession(original);
  progress(0.2, 'Loading the quantized model');
  const quant = await onnxSession(quantized);
  const inputs = float.inputNames.map((name, i) => {
    const meta = float.inputMetadata?.[i];
    return { name, type: meta?.type ?? 'float32', shape: meta?.shape ?? null };
  });
  const feeds = options.feeds ?? generateInputs(inputs, options);
  progress(0.35, 'Running the float model');
  const a = await runOnnx(float, feeds);
  progress(0.65, 'Running the quantized model');
  const b = await runOnnx(quant, feeds);
  await Promise.all([float.release?.(), quant.release?.()]);
  return { runtime: `onnxruntime-web ${ortVersion()} (wasm, 1 thread)`, feeds, a, b };
}

const ortVersion = () => ort.env?.versions?.web ?? '';

// ----------------------------------------------------------------- TF.js

async function tfModel(model) {
  const t = await loadTf();
  const json = JSON.parse(new TextDecoder().decode(model.files[model.main]));
  const weightSpecs = [];
  const shards = [];
  for (const group of json.weightsManifest ?? []) {
    weightSpecs.push(...group.weights);
    for (const path of group.paths) {
      const name = Object.keys(model.files).find((n) => n === path || n.endsWith(`/${path}`) || path.endsWith(`/${n}`));
      if (!name) throw new Error(`the shard "${path}" is not among the files`);
      shards.push(model.files[name]);
    }
  }
  const weightData = concat(shards);
  const handler = t.io.fromMemory({ ...json, modelTopology: json.modelTopology, weightSpecs, weightData });
  return json.format === 'graph-model' || json.modelTopology?.node ? t.loadGraphModel(handler) : t.loadLayersModel(handler);
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out.buffer;
}

async function runTf(model, feeds) {
  const t = await loadTf();
  const tensors = feeds.map((f) => t.tensor(f.data, f.shape, f.type === 'int64' ? 'int32' : f.type));
  const names = model.outputs.map((o, i) => o.name ?? `output ${i}`);
  const result = model.executeAsync
    ? await model.executeAsync(Object.fromEntries(feeds.map((f, i) => [f.name, tensors[i]])))
    : model.predict(tensors.length === 1 ? tensors[0] : tensors);
  const outs = Array.isArray(result) ? result : [result];
  const rows = await Promise.all(outs.map(async (o, i) => ({ name: names[i] ?? `output ${i}`, shape: o.shape, data: await o.data() })));
  t.dispose([...tensors, ...outs]);
  return rows;
}

async function checkTf(original, quantized, options, progress) {
  progress(0.05, 'Starting TF.js');
  const float = await tfModel(original);
  progress(0.2, 'Loading the quantized model');
  const quant = await tfModel(quantized);
  const inputs = float.inputs.map((i, k) => ({ name: i.name ?? `input ${k}`, type: i.dtype ?? 'float32', shape: i.shape }));
  const feeds = generateInputs(inputs, { ...options, int: 'int32' });
  progress(0.35, 'Running the float model');
  const a = await runTf(float, feeds);
  progress(0.65, 'Running the quantized model');
  const b = await runTf(quant, feeds);
  float.dispose();
  quant.dispose();
  return { runtime: `TF.js ${tf.version?.tfjs ?? ''} (cpu backend)`, feeds, a, b };
}

// ------------------------------------------------------------ the method

/**
 * Runs `original` and `quantized` ({ main, files: { name: Uint8Array } }) on
 * one generated input; → { runtime, inputs, outputs: [{ name, shape, maxAbs, cosine }], ms }.
 * options: { size } for the free dimensions, { seed } for the noise, or
 * (ONNX) { feeds: [{ name, type, shape, data, fill }], generated } to run
 * instead (generated: whether they were made up, for the page to say).
 */
export async function checkModel({ progress }, original, quantized, options = {}) {
  const started = performance.now();
  const tfjs = /\.json$/i.test(original.main);
  let run;
  try {
    run = await (tfjs ? checkTf : checkOnnx)(original, quantized, options, progress);
  } catch (e) {
    const message = String(e?.message ?? e)
      .replace(/\s+/g, ' ')
      .slice(0, 600);
    throw new Error(`${tfjs ? 'TF.js' : 'onnxruntime-web'} could not run this model on the generated input: ${message}`, { cause: e });
  }
  progress(0.95, 'Comparing the outputs');
  const outputs = run.a.map((o, i) => ({ name: o.name, shape: o.shape, count: o.data.length, ...closeness(o.data, run.b[i].data) }));
  return {
    runtime: run.runtime,
    generated: options.generated ?? !options.feeds,
    inputs: run.feeds.map((f) => ({ name: f.name, type: f.type, shape: f.shape, fill: f.fill })),
    outputs,
    ms: performance.now() - started,
  };
}
