// Type declarations for wasmquant/worker (hand-written; see web/worker.js).

export interface WorkerProgress {
  /** 0..1 */
  fraction: number;
  label?: string;
}

export interface CallOptions {
  /** ArrayBuffers to transfer to the worker instead of copying (they detach here). */
  transfer?: Transferable[];
  /** Progress reports of extension methods. */
  onProgress?: (progress: WorkerProgress) => void;
}

/** The page's side of a worker started from wasmquant/worker. */
export interface WorkerClient {
  /**
   * Runs a method in the worker: createQuantizer, computeEncoding, quantize,
   * dequantize, analyze, analyzeMany, readNpy, writeNpy, readSafetensors,
   * writeSafetensors, toAimetEncodings, fromAimetEncodings, quantizeModel,
   * inspectModel, calibrateModel (wasmquant/models; calibrateModel's `ort`
   * is the URL of an onnxruntime-web ES module, `ortEnv` merged into its
   * env), extend, or a
   * method added by extend(moduleUrl). ArrayBuffers in the result are
   * transferred to the page.
   */
  call<T = any>(method: string, args?: unknown[], options?: CallOptions): Promise<T>;
  /** Calls sent and not answered yet. */
  readonly pending: number;
  terminate(): void;
}

export function connectWorker(worker: Worker): WorkerClient;
