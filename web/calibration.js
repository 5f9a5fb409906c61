// A calibration fed batch by batch (a model's activations over a dataset,
// a tensor arriving in pieces the caller keeps): the core's Calibrator
// behind quantizer.createCalibrator, every batch added once per pass. The
// core's AnalysisSet takes batches the same way (an activation's report
// over a model's runs), so it can stand in for the Calibrator.
import { throwIfError, withReadableErrors } from './errors.js';

export class Calibration {
  #core; // { state (a Calibrator or an AnalysisSet), feed(x, base), finish() }
  #batch; // values per batch (options.shape), or undefined
  #pass = 0;
  #added = 0; // values added in this pass
  #firstPass = 0; // values added in pass 0
  #result = null;

  constructor(core, batch) {
    this.#core = core;
    this.#batch = batch;
    this.passes = core.state.passes();
  }

  /** The pass that add() feeds (0-based); passes when all are done. */
  get pass() {
    return this.#pass;
  }

  get finished() {
    return this.#result !== null || this.#core === null;
  }

  add(x) {
    this.#check('add');
    if (this.#pass === this.passes) throw new Error(`wasmquant: all ${this.passes} passes are done: call finish()`);
    if (!(x instanceof Float32Array) && x?.dtype !== 'float32') {
      throw new TypeError('wasmquant: a batch must be a Float32Array or a float32 WasmTensor');
    }
    if (x.length === 0) return;
    if (this.#batch !== undefined && x.length % this.#batch !== 0) {
      throw new RangeError(`wasmquant: a batch holds a multiple of ${this.#batch} values (options.shape), got ${x.length}`);
    }
    this.#core.feed(x, this.#added);
    this.#added += x.length;
  }

  endPass() {
    this.#check('endPass');
    if (this.#pass === this.passes) throw new Error(`wasmquant: all ${this.passes} passes are done: call finish()`);
    if (this.#added === 0) throw new RangeError(`wasmquant: no values were added in pass ${this.#pass}`);
    if (this.#pass === 0) {
      this.#firstPass = this.#added;
    } else if (this.#added !== this.#firstPass) {
      throw new RangeError(
        `wasmquant: pass ${this.#pass} saw ${this.#added} values, pass 0 saw ${this.#firstPass}: add the same batches in every pass`,
      );
    }
    throwIfError(this.#core.state.endPass());
    this.#pass += 1;
    this.#added = 0;
  }

  /** The encoding (per channel: one per channel), once every pass is done. */
  finish() {
    if (this.#result !== null) return this.#result;
    this.#check('finish');
    if (this.#pass < this.passes) {
      throw new Error(`wasmquant: finish() needs all ${this.passes} passes; pass ${this.#pass} has not ended (add every batch, then endPass())`);
    }
    try {
      this.#result = this.#core.finish();
    } finally {
      this.free();
    }
    return this.#result;
  }

  /** Releases the core's state without finishing; finish() does it too. */
  free() {
    if (this.#core === null) return;
    this.#core.state.delete();
    this.#core = null;
  }

  [Symbol.dispose ?? Symbol.for('Symbol.dispose')]() {
    this.free();
  }

  #check(method) {
    if (this.#core === null) throw new Error(`wasmquant: ${method}() on a calibration that is finished or freed`);
  }
}

withReadableErrors(Calibration, ['add', 'endPass', 'finish']);
