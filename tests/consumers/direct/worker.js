// The package's worker, by path (import maps do not apply in workers).
import '/web/worker.js';
