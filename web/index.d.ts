// Type declarations for wasmquant (hand-written; see web/index.js).
/// <reference lib="esnext.disposable" />

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

/**
 * What a caller may pass as a given encoding: scale and offset (min and max
 * are then derived), or only min and max (a range, nudged onto a grid as in
 * SPEC §2, as QNN does with min/max overrides).
 */
export type EncodingInput =
  | { bitwidth: number; scale: number; offset: number; min?: number; max?: number; isSymmetric?: boolean }
  | { bitwidth: number; min: number; max: number; isSymmetric?: boolean };

export type Rounding = 'half-up' | 'half-even';
export type NonFinitePolicy = 'error' | 'saturate';
export type Scheme = 'tf' | 'symmetric' | 'tf_enhanced' | 'percentile';
export type Backend = 'simd128' | 'scalar';

export interface QuantizeOptions {
  /** 2..16, default 8. */
  bitwidth?: number;
  /**
   * Default 'tf' (SNPE's default: min/max, asymmetric, exact zero);
   * 'symmetric' is 'tf' with symmetric: true; 'tf_enhanced' searches the
   * range with the least quantization noise; 'percentile' clips the tails.
   */
  scheme?: Scheme;
  /** Symmetric encodings (signed codes, offset -2^(b-1)); any scheme. */
  symmetric?: boolean;
  /** Symmetric with codes in [-(2^(b-1)-1), 2^(b-1)-1]. */
  strict?: boolean;
  /** Symmetric, but data >= 0 gets an asymmetric encoding with min 0. */
  unsignedSymmetric?: boolean;
  /** scheme 'percentile': the upper percentile, 50..100 (default 99.99). */
  percentile?: number;
  /** The tensor's shape (C order); with axis, one encoding per channel. */
  shape?: readonly number[];
  /** The channel axis for per-channel quantization (negative from the end). */
  axis?: number;
  /** bitwidth 4: two codes per byte, the first in the low nibble. */
  pack?: boolean;
  /** Default 'half-up' (SNPE, AIMET, TF); 'half-even' is ONNX's. */
  rounding?: Rounding;
  /** Smallest range calibrated; default 0.01. */
  minRange?: number;
  /** Default 'error': a RangeError naming the first NaN/Inf. */
  nonFinite?: NonFinitePolicy;
  /** Apply this encoding (or one per channel) instead of calibrating. */
  encoding?: EncodingInput | readonly EncodingInput[];
  /**
   * Where to write the result (quantize: codes; dequantize: floats) instead of
   * a new array: a typed array of the right type and length, or a WasmTensor
   * of the matching dtype (then nothing is copied at all).
   */
  out?: Codes | Float32Array | WasmTensor;
}

/** Uint8/Uint16 for asymmetric encodings, Int8/Int16 for symmetric ones. */
export type Codes = Uint8Array | Uint16Array | Int8Array | Int16Array;

export interface QuantizeResult<C extends Codes | WasmTensor = Codes> {
  codes: C;
  /** One encoding, or one per channel with shape + axis. */
  encoding: Encoding | Encoding[];
}

export interface ErrorReport {
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

export interface Report extends ErrorReport {
  encoding: Encoding | Encoding[];
  /** Per channel, with shape + axis. */
  channels?: Array<ErrorReport & { encoding: Encoding }>;
}

/** A Blob/File of little-endian float32 bytes, a function returning a fresh
 * (async) iterable of Float32Array chunks, or such an iterable (read once:
 * only with a given encoding). */
export type StreamSource = Blob | (() => Iterable<Float32Array> | AsyncIterable<Float32Array>) | Iterable<Float32Array> | AsyncIterable<Float32Array>;

export interface QuantizeStreamResult {
  encoding: Encoding | Encoding[];
  chunks: AsyncIterable<{ codes: Codes; start: number }>;
}

export type Dtype = 'float32' | 'uint8' | 'uint16' | 'int8' | 'int16';

/**
 * Typed data living in wasm memory, for callers who fill or read it in place:
 * pass it as input or as options.out, then free() it.
 */
export interface WasmTensor {
  readonly length: number;
  readonly dtype: Dtype;
  /** A fresh view on every access; do not keep it across calls. */
  readonly data: Float32Array | Codes;
  readonly freed: boolean;
  free(): void;
  [Symbol.dispose](): void;
}

/** A calibration of quantizer.createCalibrator. */
export interface Calibration {
  /** How many times every batch must be added: 1 for tf, 2 for tf_enhanced, 2-4 for percentile. */
  readonly passes: number;
  /** The pass add() feeds now (0-based); equals passes once all have ended. */
  readonly pass: number;
  readonly finished: boolean;
  add(batch: Tensor): void;
  endPass(): void;
  /** The encoding (per channel: one per channel); frees the core's state. */
  finish(): Encoding | Encoding[];
  /** Releases the core's state without finishing. */
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
  /** A new Float32Array, or options.out when given. */
  dequantize(codes: Codes | WasmTensor, encoding: EncodingInput | readonly EncodingInput[], options?: Omit<QuantizeOptions, 'out'>): Float32Array;
  dequantize<O extends Float32Array | WasmTensor>(
    codes: Codes | WasmTensor,
    encoding: EncodingInput | readonly EncodingInput[],
    options: QuantizeOptions & { out: O },
  ): O;
  analyze(x: Tensor, options?: Omit<QuantizeOptions, 'out'>): Report;
  /** One report per options object, each as analyze gives it, from passes
   * over x shared between them. */
  analyzeMany(x: Tensor, optionsList: readonly Omit<QuantizeOptions, 'out'>[]): Report[];
  /** Calibrates (reading the source once per pass), then quantizes as the
   * chunks are iterated; wasm memory stays at a fixed scratch size. */
  quantizeStream(source: StreamSource, options?: Omit<QuantizeOptions, 'out' | 'pack'>): Promise<QuantizeStreamResult>;
  analyzeStream(source: StreamSource, options?: Omit<QuantizeOptions, 'out'>): Promise<Report>;
  /** analyzeMany over a stream source, read once per shared pass. */
  analyzeManyStream(source: StreamSource, optionsList: readonly Omit<QuantizeOptions, 'out'>[]): Promise<Report[]>;
  /** A calibration fed batch by batch (activations over a dataset): add
   * every batch once per pass, endPass() after each, then finish(). With
   * shape and axis (one batch's shape), per channel along that axis. */
  createCalibrator(options?: Omit<QuantizeOptions, 'out' | 'pack' | 'encoding'>): Calibration;
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

export type TensorDtype = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'uint8' | 'int8' | 'uint16' | 'int16';
export interface TensorData {
  /** float tensors as Float32Array; codes as their integer arrays. */
  data: Float32Array | Codes;
  /** The dtype in the file. */
  dtype: TensorDtype;
  shape: number[];
}
export function readNpy(bytes: Uint8Array | ArrayBuffer): TensorData & { fortranOrder: false };
/** shape defaults to [data.length]. */
/**
 * A contiguous piece of a tensor quantized per channel (or per tensor):
 * `x.subarray(start, start + length)` is a tensor of `shape` whose axis
 * `axis` holds channels `channel` … `channel + channels - 1`; its element j
 * is in channel `channel + Math.floor(j / inner) % channels`.
 */
export interface ChannelSlice {
  start: number;
  length: number;
  shape: number[];
  axis: number | undefined;
  channel: number;
  channels: number;
  inner: number;
}

/**
 * Cuts a tensor of `shape`, quantized per channel along `axis` (per tensor:
 * `undefined`), into slices of at most `maxLength` elements (default 1 Mi)
 * that quantize, dequantize and analyze take one at a time with
 * `encodings.slice(channel, channel + channels)`; `channel` keeps that
 * channel's slices only.
 */
export function channelSlices(
  shape: readonly number[],
  axis?: number,
  options?: { maxLength?: number; channel?: number },
): Generator<ChannelSlice, void, undefined>;

export function writeNpy(data: Float32Array | Float64Array | Codes, shape?: readonly number[]): Uint8Array;
export function readSafetensors(bytes: Uint8Array | ArrayBuffer): {
  tensors: Record<string, TensorData>;
  metadata: Record<string, string>;
};
export function writeSafetensors(
  tensors: Record<string, { data: Float32Array | Float64Array | Codes; shape?: readonly number[]; dtype?: TensorDtype }>,
  metadata?: Record<string, string>,
): Uint8Array;
export function toAimetEncodings(encodings: Record<string, EncodingInput | EncodingInput[]>, options?: { version?: '0.6.1' | '1.0.0' }): object;
export function fromAimetEncodings(file: object | string): Record<string, Encoding | Encoding[]>;
