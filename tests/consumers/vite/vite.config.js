// Nothing wasmquant needs: Vite handles the package's `new URL(…, import.meta.url)`
// references, its Emscripten glue and the module worker as they are.
import { defineConfig } from 'vite';

export default defineConfig({
  logLevel: 'warn',
});
