// webpack 5: the package is imported by name; webpack turns its
// `new URL(..., import.meta.url)` references (the .wasm files and the Emscripten
// glue) into emitted assets and chunks, and bundles the module worker.
import { runProbe } from './probe.js';

runProbe({
  makeWorker: () => new Worker(new URL('./worker.js', import.meta.url), { type: 'module' }),
});
