// No bundler: web/index.js through an import map; the .wasm files are found
// relative to web/loader.js. Import maps do not reach workers, so the worker
// imports web/worker.js by path.
import { runProbe } from '../common/probe.js';

runProbe({
  makeWorker: () => new Worker(new URL('./worker.js', import.meta.url), { type: 'module' }),
});
