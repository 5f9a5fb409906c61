// Vite: the package is imported by name and finds its own .wasm; the worker
// is Vite's `new Worker(new URL(...), { type: 'module' })` form.
import { runProbe } from './probe.js';

runProbe({
  makeWorker: () => new Worker(new URL('./worker.js', import.meta.url), { type: 'module' }),
});
