// Shared by every fixture page (copied next to its main.js): quantizes fixed
// inputs with both backends on the page and once in a module Worker, and
// leaves what came out in window.__wasmquant for the test to compare with
// values it computes itself. Nothing here knows the expected numbers.
import { createQuantizer } from 'wasmquant';
import { connectWorker } from 'wasmquant/worker';

export const INPUTS = {
  spec: [-1.8, -1.0, 0, 0.5], // docs/spec.md §2.1 worked example
  mixed: [-1, 0, 0.5, 1.2],
};

function plain(encoding) {
  return { ...encoding };
}

async function onPage(backend, wasmUrl) {
  const wq = await createQuantizer(wasmUrl ? { backend, wasmUrl } : { backend });
  const out = { backend: wq.backend };
  for (const [name, values] of Object.entries(INPUTS)) {
    const x = Float32Array.from(values);
    const { codes, encoding } = wq.quantize(x);
    const x2 = wq.dequantize(codes, encoding);
    const report = wq.analyze(x);
    out[name] = {
      codesType: codes.constructor.name,
      codes: Array.from(codes),
      encoding: plain(encoding),
      dequantized: Array.from(x2),
      report: { mse: report.mse, maxAbsError: report.maxAbsError, count: report.count, clipped: report.clipped },
    };
  }
  return out;
}

const WORKER_TIMEOUT_MS = 20_000;

// A worker whose bundle lost wasmquant/worker's code starts fine and never answers.
function answered(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the worker did not answer ${what} within ${WORKER_TIMEOUT_MS} ms (is wasmquant/worker's code in the worker bundle?)`)),
      WORKER_TIMEOUT_MS,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function inWorker(worker, options) {
  const wq = connectWorker(worker);
  try {
    const started = await answered(wq.call('createQuantizer', [options]), 'createQuantizer');
    const x = Float32Array.from(INPUTS.mixed);
    const { codes, encoding } = await answered(wq.call('quantize', [x], { transfer: [x.buffer] }), 'quantize');
    return { backend: started.backend, codes: Array.from(codes), encoding: plain(encoding) };
  } finally {
    wq.terminate();
  }
}

/**
 * wasmUrls: { simd128, scalar } absolute URLs, or undefined to let the
 * package find its .wasm; makeWorker: () => a module Worker that serves
 * wasmquant/worker.
 */
export async function runProbe({ wasmUrls, makeWorker }) {
  const status = document.getElementById('status');
  try {
    const result = { page: {}, worker: {} };
    for (const backend of ['simd128', 'scalar']) {
      result.page[backend] = await onPage(backend, wasmUrls?.[backend]);
    }
    for (const backend of ['simd128', 'scalar']) {
      const options = wasmUrls ? { backend, wasmUrl: wasmUrls[backend] } : { backend };
      result.worker[backend] = await inWorker(makeWorker(), options);
    }
    window.__wasmquant = { ok: true, result };
    status.textContent = 'done';
  } catch (e) {
    window.__wasmquant = { ok: false, error: `${e?.name}: ${e?.message}\n${e?.stack ?? ''}` };
    status.textContent = 'failed';
  }
}
