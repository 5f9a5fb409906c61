// Finds and instantiates the right .wasm in Node, a page or a worker. The
// generated glue is never left to locate the .wasm itself (its Node path
// breaks in ES modules): we read the bytes and hand them over.

// The smallest module that uses a SIMD128 instruction (i8x16.popcnt).
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

export const BACKENDS = Object.freeze(['simd128', 'scalar']);

export function simd128Supported() {
  try {
    return WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

// Node only (file: URLs). Not a literal, and marked, so that bundlers for
// the browser (webpack, esbuild, Vite) leave it alone instead of failing.
const NODE_FS = 'node:fs/promises';

async function readBytes(url) {
  if (url.protocol === 'file:') {
    const { readFile } = await import(/* webpackIgnore: true */ /* @vite-ignore */ NODE_FS);
    return new Uint8Array(await readFile(url));
  }
  const response = await fetch(url);
  if (!response.ok) {
    throw new Error(`wasmquant: could not load ${url} (HTTP ${response.status})`);
  }
  return new Uint8Array(await response.arrayBuffer());
}

// Literal specifiers, so bundlers can see both modules.
const GLUE = {
  simd128: () => import('../dist/wasmquant-simd128.mjs'),
  scalar: () => import('../dist/wasmquant-scalar.mjs'),
};
const WASM = {
  simd128: () => new URL('../dist/wasmquant-simd128.wasm', import.meta.url),
  scalar: () => new URL('../dist/wasmquant-scalar.wasm', import.meta.url),
};

// options.wasmUrl: absolute, or relative to the page or worker.
function wasmUrlOf(wasmUrl) {
  try {
    return new URL(wasmUrl, globalThis.location?.href);
  } catch {
    throw new TypeError(`wasmquant: wasmUrl ${String(wasmUrl)} is not a URL (in Node, give an absolute file: or http(s): URL)`);
  }
}

export async function loadModule(backend, wasmUrl) {
  if (backend === 'simd128' && !simd128Supported()) {
    throw new Error("wasmquant: backend 'simd128' was requested but this engine has no WebAssembly SIMD128");
  }
  const [glue, wasmBinary] = await Promise.all([GLUE[backend](), readBytes(wasmUrl ? wasmUrlOf(wasmUrl) : WASM[backend]())]);
  return glue.default({
    wasmBinary,
    print: (text) => console.log(text),
    printErr: (text) => console.warn(text),
  });
}
