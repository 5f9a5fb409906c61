// Type declarations for wasmquant (hand-written; see web/index.js).

/** An encoding in the QNN/AIMET convention: x̂ = (code + offset) * scale. */
export interface Encoding {
  /** 2..16 */
  bitwidth: number;
  /** The adjusted ("nudged") lower end: offset * scale. */
  min: number;
  /** The adjusted upper end: min + (2^bitwidth - 1) * scale. */
  max: number;
  /** Distance between neighbouring codes. */
  scale: number;
  /** An integer <= 0; the code of 0.0 is -offset. */
  offset: number;
  isSymmetric: boolean;
}

/** What a caller may pass as a given encoding; min and max are derived. */
export interface EncodingInput {
  bitwidth: number;
  scale: number;
  offset: number;
  min?: number;
  max?: number;
  isSymmetric?: false;
}

export type Rounding = 'half-up' | 'half-even';
export type NonFinitePolicy = 'error' | 'saturate';
export type Scheme = 'tf';
export type Backend = 'simd128' | 'scalar';

export interface QuantizeOptions {
  /** 2..16, default 8. */
  bitwidth?: number;
  /** Default 'tf' (SNPE's default: asymmetric, exact zero). */
  scheme?: Scheme;
  /** Default 'half-up' (SNPE, AIMET, TF); 'half-even' is ONNX's. */
  rounding?: Rounding;
  /** Smallest range calibrated; default 0.01. */
  minRange?: number;
  /** Default 'error': a RangeError naming the first NaN/Inf. */
  nonFinite?: NonFinitePolicy;
  /** Apply this encoding instead of calibrating. */
  encoding?: EncodingInput;
  /**
   * Where to write the result (quantize: codes; dequantize: floats) instead of
   * a new array: a typed array of the right type and length, or a WasmTensor
   * of the matching dtype (then nothing is copied at all).
   */
  out?: Codes | Float32Array | WasmTensor;
}

export type Codes = Uint8Array | Uint16Array;

export interface QuantizeResult<C extends Codes | WasmTensor = Codes> {
  codes: C;
  encoding: Encoding;
}

export interface Report {
  encoding: Encoding;
  mse: number;
  rmse: number;
  maxAbsError: number;
  meanAbsError: number;
  /** 10·log10(Σx² / Σ(x̂ − x)²); Infinity when the error is zero. */
  sqnrDb: number;
  /** Elements more than half a step outside [min, max]. */
  clipped: number;
  /** Finite elements measured. */
  count: number;
  /** NaN/Inf elements (only with nonFinite: 'saturate'). */
  nonFinite: number;
}

export type Dtype = 'float32' | 'uint8' | 'uint16';

/**
 * Typed data living in wasm memory, for callers who fill or read it in place:
 * pass it as input or as options.out, then free() it.
 */
export interface WasmTensor {
  readonly length: number;
  readonly dtype: Dtype;
  /** A fresh view on every access; do not keep it across calls. */
  readonly data: Float32Array | Uint8Array | Uint16Array;
  readonly freed: boolean;
  free(): void;
  [Symbol.dispose](): void;
}

/** float32 input: a Float32Array or a 'float32' WasmTensor. */
export type Tensor = Float32Array | WasmTensor;

export interface Quantizer {
  readonly backend: Backend;
  computeEncoding(min: number, max: number, options?: QuantizeOptions): Encoding;
  /** codes is options.out when given. */
  quantize(x: Tensor, options?: QuantizeOptions): QuantizeResult<any>;
  /** Returns options.out when given. */
  dequantize(
    codes: Codes | WasmTensor,
    encoding: EncodingInput,
    options?: QuantizeOptions,
  ): Float32Array | WasmTensor;
  analyze(x: Tensor, options?: Omit<QuantizeOptions, 'out'>): Report;
  allocTensor(length: number, dtype?: Dtype): WasmTensor;
  /** The wasm heap's top, in bytes: for leak checks. */
  heapBytes(): number;
}

export interface CreateQuantizerOptions {
  /** Default: 'simd128' where WebAssembly SIMD is available, else 'scalar'. */
  backend?: Backend;
  /** Where to load the backend's .wasm from, if not next to the package. */
  wasmUrl?: string | URL;
}

export function createQuantizer(options?: CreateQuantizerOptions): Promise<Quantizer>;
export function simd128Supported(): boolean;
