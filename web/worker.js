// wasmquant in a Web Worker: the whole API off the main thread.
//
// Started as a module worker, this file serves the API:
//
//   const worker = new Worker(import.meta.resolve('wasmquant/worker'), { type: 'module' });
//   const wq = connectWorker(worker);                    // or speak the protocol yourself
//   const { codes, encoding } = await wq.call('quantize', [x], { transfer: [x.buffer] });
//
// Protocol: the page posts { id, method, args }; the worker answers
// { id, result } or { id, error: { name, message } }, and, for long calls,
// { id, progress: { fraction, label } } before that. ArrayBuffers in a result
// are transferred, not copied. Methods:
//   createQuantizer(options)   (optional; otherwise the first call creates the default one) → { backend }
//   computeEncoding, quantize, dequantize, analyze, analyzeMany  (the Quantizer's methods)
//   readNpy, writeNpy, readSafetensors, writeSafetensors, toAimetEncodings, fromAimetEncodings
//   quantizeModel, inspectModel (wasmquant/models, loaded on first use; onProgress becomes
//                              progress messages, and rules match by glob or RegExp, not functions)
//   calibrateModel(files, feeds, options)  as wasmquant/models', with options.ort the URL of an
//                              onnxruntime-web ES module (a module cannot be posted) and
//                              options.ortEnv merged into its env (e.g. { wasm: { wasmPaths } });
//                              feeds an array of { input: { data, dims, type } }
//   extend(moduleUrl)          adds every exported function of that module as a method,
//                              called as fn(context, ...args) with context
//                              { quantizer, api, progress(fraction, label) }; → the names added.
//                              For work that should stay next to the data (the module keeps its
//                              own state); such a module never needs to import the package.
// Imported on the main thread (for connectWorker), this file does nothing else.
import * as api from './index.js';

const FILE_FUNCTIONS = ['readNpy', 'writeNpy', 'readSafetensors', 'writeSafetensors', 'toAimetEncodings', 'fromAimetEncodings'];
const QUANTIZER_METHODS = ['computeEncoding', 'quantize', 'dequantize', 'analyze', 'analyzeMany'];
const MODEL_FUNCTIONS = ['quantizeModel', 'inspectModel', 'calibrateModel'];

// The model phases as one fraction: reading, then each weight, then writing;
// calibrateModel's runs count each pass over the inputs from 0 to 1 first.
function modelProgress({ phase, pass, done, total, name }) {
  const within = total > 0 ? done / total : 0;
  if (phase === 'calibrate' || phase === 'report') {
    const of = total > 0 ? `${done}/${total}` : `${done}`;
    return { fraction: within, label: `${phase === 'report' ? 'report' : `calibrate pass ${pass}`}: run ${of} of ${name}` };
  }
  const fraction = phase === 'read' ? 0 : phase === 'quantize' ? 0.05 + 0.85 * within : 0.9 + 0.1 * within;
  return { fraction, label: `${phase} ${name}` };
}

function isPlainObject(value) {
  return value !== null && typeof value === 'object' && (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null);
}

function mergeInto(target, source) {
  for (const [key, value] of Object.entries(source)) {
    if (isPlainObject(value) && isPlainObject(target[key])) mergeInto(target[key], value);
    else target[key] = value;
  }
}

// calibrateModel's options.ort, a module URL, as the module (one import per URL).
const runtimes = new Map();
async function importOrt(options) {
  const { ort: url, ortEnv, ...rest } = options;
  if (typeof url !== 'string' && !(url instanceof URL)) {
    throw new TypeError(
      'wasmquant worker: calibrateModel: options.ort must be the URL of an onnxruntime-web ES module (e.g. ort.wasm.bundle.min.mjs)',
    );
  }
  const key = String(url);
  if (!runtimes.has(key)) {
    const loading = import(/* webpackIgnore: true */ /* @vite-ignore */ key).then((m) => (m.InferenceSession ? m : m.default));
    runtimes.set(key, loading);
    loading.catch(() => runtimes.delete(key));
  }
  let ort;
  try {
    ort = await runtimes.get(key);
  } catch (e) {
    throw new Error(`wasmquant worker: calibrateModel: could not import options.ort (${key}): ${e.message}`, { cause: e });
  }
  if (typeof ort?.InferenceSession?.create !== 'function') {
    throw new TypeError(`wasmquant worker: calibrateModel: ${key} is not onnxruntime-web (no InferenceSession)`);
  }
  if (ortEnv !== undefined) {
    if (!isPlainObject(ortEnv)) throw new TypeError('wasmquant worker: calibrateModel: options.ortEnv must be a plain object');
    mergeInto(ort.env, ortEnv);
  }
  return { ...rest, ort };
}

// Every distinct transferable ArrayBuffer reachable through arrays and plain objects.
function transferables(value, found = new Set(), depth = 0) {
  if (value === null || typeof value !== 'object' || depth > 8) return found;
  if (value instanceof ArrayBuffer) {
    found.add(value);
  } else if (ArrayBuffer.isView(value)) {
    if (value.buffer instanceof ArrayBuffer) found.add(value.buffer);
  } else if (Array.isArray(value)) {
    for (const v of value) transferables(v, found, depth + 1);
  } else if (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null) {
    for (const v of Object.values(value)) transferables(v, found, depth + 1);
  }
  return found;
}

function serve(scope) {
  let quantizer = null;
  const extensions = new Map();

  // A failed start is not kept: the next call tries again.
  const start = (options) => {
    quantizer = api.createQuantizer(options);
    quantizer.catch(() => {
      quantizer = null;
    });
    return quantizer;
  };
  const ensureQuantizer = () => quantizer ?? start();

  const builtin = {
    async createQuantizer(options) {
      if (quantizer) throw new Error('wasmquant worker: createQuantizer must be the first call');
      return { backend: (await start(options)).backend };
    },
    async extend(moduleUrl) {
      // The caller's own module, fetched at run time: bundlers must not resolve it.
      const module = await import(/* webpackIgnore: true */ /* @vite-ignore */ String(moduleUrl));
      const names = Object.keys(module).filter((k) => typeof module[k] === 'function');
      for (const name of names) extensions.set(name, module[name]);
      return names;
    },
  };

  async function run(id, method, args) {
    if (!Array.isArray(args)) args = args === undefined ? [] : [args];
    if (Object.hasOwn(builtin, method)) return builtin[method](...args);
    if (FILE_FUNCTIONS.includes(method)) return api[method](...args);
    if (QUANTIZER_METHODS.includes(method)) {
      const q = await ensureQuantizer();
      return q[method](...args);
    }
    if (MODEL_FUNCTIONS.includes(method)) {
      const models = await import('./models/index.js');
      const onProgress = (p) => scope.postMessage({ id, progress: modelProgress(p) });
      const quantizer = await ensureQuantizer();
      if (method === 'calibrateModel') {
        const [files, feeds, options] = args;
        if (!isPlainObject(options))
          throw new TypeError('wasmquant worker: calibrateModel: options must be an object with at least ort (a module URL)');
        return models.calibrateModel(files, feeds, { ...(await importOrt(options)), quantizer, onProgress });
      }
      const [files, options = {}] = args;
      return models[method](files, { ...options, quantizer, onProgress });
    }
    if (extensions.has(method)) {
      const context = {
        quantizer: await ensureQuantizer(),
        api,
        progress(fraction, label) {
          scope.postMessage({ id, progress: { fraction, label } });
        },
      };
      return extensions.get(method)(context, ...args);
    }
    const known = [...Object.keys(builtin), ...QUANTIZER_METHODS, ...FILE_FUNCTIONS, ...MODEL_FUNCTIONS, ...extensions.keys()];
    throw new TypeError(`wasmquant worker: unknown method ${JSON.stringify(method)}; methods: ${known.join(', ')}`);
  }

  scope.addEventListener('message', async (event) => {
    const { id, method, args } = event.data ?? {};
    try {
      const result = await run(id, method, args);
      scope.postMessage({ id, result }, [...transferables(result)]);
    } catch (e) {
      const error = e instanceof Error ? { name: e.name, message: e.message } : { name: 'Error', message: String(e) };
      scope.postMessage({ id, error });
    }
  });
}

const ERRORS = { RangeError, TypeError, Error };

/**
 * The page's side: call(method, args, { transfer, onProgress }) → Promise of
 * the result; errors come back as RangeError/TypeError/Error with the
 * worker's message.
 */
export function connectWorker(worker) {
  let next = 1;
  const pending = new Map();
  const onMessage = (event) => {
    const { id, result, error, progress } = event.data ?? {};
    const call = pending.get(id);
    if (!call) return;
    if (progress) {
      call.onProgress?.(progress);
      return;
    }
    pending.delete(id);
    if (error) {
      const Type = ERRORS[error.name] ?? Error;
      call.reject(new Type(error.message));
    } else {
      call.resolve(result);
    }
  };
  const onError = (event) => {
    const message = event.message || 'the worker failed to start (check that wasmquant/worker can be loaded)';
    for (const call of pending.values()) call.reject(new Error(`wasmquant worker: ${message}`));
    pending.clear();
  };
  worker.addEventListener('message', onMessage);
  worker.addEventListener('error', onError);
  return {
    call(method, args = [], { transfer = [], onProgress } = {}) {
      const id = next;
      next += 1;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject, onProgress });
        worker.postMessage({ id, method, args }, transfer);
      });
    },
    get pending() {
      return pending.size;
    },
    terminate() {
      worker.removeEventListener('message', onMessage);
      worker.removeEventListener('error', onError);
      worker.terminate();
      for (const call of pending.values()) call.reject(new Error('wasmquant worker: terminated'));
      pending.clear();
    },
  };
}

if (typeof WorkerGlobalScope !== 'undefined' && globalThis instanceof WorkerGlobalScope && typeof globalThis.postMessage === 'function') {
  serve(globalThis);
}
