// The package's worker, served from a worker that Vite bundles.
import 'wasmquant/worker';
