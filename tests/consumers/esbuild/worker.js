// The package's worker, served from a worker that esbuild bundles as a second entry point.
import 'wasmquant/worker';
