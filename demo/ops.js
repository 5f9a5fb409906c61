// The demo's work, run inside the package's worker (wasmquant/worker loads
// this module with its `extend` method). Every exported function is a worker
// method, called as fn(context, ...args) with context { quantizer, api,
// progress }. The tensors stay in the worker, next to the quantizer; the page
// only ever receives numbers, histograms and the bytes of a download.
//
// These modules do not import the package: they get it through the context.
export { analyzeTensor, compare, overview } from './ops/analysis.js';
export { exportData } from './ops/exports.js';
export { openFile, reshape } from './ops/files.js';
export { loadSample } from './ops/sample.js';
