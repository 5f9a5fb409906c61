// esbuild: it bundles the package's JavaScript and its Emscripten glue but
// leaves `new URL('../dist/…wasm', import.meta.url)` alone, so the build
// copies the two .wasm files (the package exports them as
// wasmquant/wasm/simd128.wasm and wasmquant/wasm/scalar.wasm) next to the
// bundle and the page passes wasmUrl (absolute: the worker gets it too).
// The worker is a second entry point, out/worker.js beside out/main.js.
import { runProbe } from './probe.js';

const here = (file) => new URL(file, import.meta.url).href;

runProbe({
  wasmUrls: { simd128: here('./wasmquant-simd128.wasm'), scalar: here('./wasmquant-scalar.wasm') },
  makeWorker: () => new Worker(new URL('./worker.js', import.meta.url), { type: 'module' }),
});
