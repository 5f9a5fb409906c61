// The package's worker, served from a worker that webpack bundles.
import 'wasmquant/worker';
