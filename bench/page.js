// Browser entry of the benchmark: the same suite as Node (bench/suite.js),
// with the package as a page imports it and onnxruntime-web's browser ESM
// build (wasm backend only; it fetches its .wasm next to itself).
import { createQuantizer } from '../web/index.js';
import * as ort from '../node_modules/onnxruntime-web/dist/ort.wasm.bundle.min.mjs';
import { plan, runSuite } from './suite.js';

globalThis.runBench = async ({ quick = false } = {}) =>
  runSuite(
    {
      createQuantizer,
      ort,
      now: () => performance.now(),
      gc: typeof globalThis.gc === 'function' ? () => globalThis.gc() : undefined,
      log: (text) => console.log(`[chromium] ${text}`),
    },
    plan({ quick, browser: true }),
  );

globalThis.benchInfo = {
  userAgent: navigator.userAgent,
  crossOriginIsolated: globalThis.crossOriginIsolated === true,
  gc: typeof globalThis.gc === 'function',
  ort: ort.env.versions,
};
globalThis.benchReady = true;
