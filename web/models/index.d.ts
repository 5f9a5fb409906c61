// Type declarations for wasmquant/models (hand-written; see web/models/index.js).
import type { Encoding, Quantizer, Rounding, Scheme } from '../index.js';

/** A model's files by name (model.onnx + its external data, model.json + shards). */
export type ModelFiles =
  | Record<string, Uint8Array | ArrayBuffer | ArrayBufferView | Blob>
  | Map<string, Uint8Array | ArrayBuffer | ArrayBufferView | Blob>
  | FileList
  | readonly File[]
  | File;

/** One weight of a model, as rules and predicates see it. */
export interface ModelWeight {
  name: string;
  /** The op (ONNX) or op/layer (TF.js) that reads it: 'Conv', 'MatMul', 'Conv2D', 'Dense', … */
  op: string;
  role: 'weight' | 'bias' | 'other';
  shape: number[];
  dtype: string;
  count: number;
}

export type WeightMatcher = string | RegExp | ((weight: ModelWeight) => boolean);

export interface ModelRule {
  /** A glob on the weight's name ('*', '?'), a RegExp, a predicate, or a list of them. */
  match: WeightMatcher | readonly WeightMatcher[];
  /** true: keep float; false: quantize even what the defaults keep. */
  keep?: boolean;
  /** Why the rule keeps a weight, shown in its row (default 'kept by a rule'). */
  reason?: string;
  bitwidth?: number;
  scheme?: Scheme;
  symmetric?: boolean;
  perChannel?: boolean;
  blockSize?: number;
  percentile?: number;
}

export interface ModelProgress {
  /** calibrateModel also reports its runs: 'calibrate' (each pass), then 'report'. */
  phase: 'read' | 'quantize' | 'write' | 'calibrate' | 'report';
  /** The pass over the inputs, from 1 (calibrateModel's runs only). */
  pass?: number;
  done: number;
  /** 0 while the number of calibration inputs is not known yet (an iterable's first pass). */
  total: number;
  /** The model or the weight being worked on. */
  name: string;
}

export interface ModelOptions {
  /** ONNX: 'qdq' (default) or 'matmulnbits'; TF.js: 'tfjs'. */
  format?: 'qdq' | 'matmulnbits' | 'tfjs';
  /** Default 8 (4 for MatMul weights with format 'matmulnbits'). */
  bitwidth?: number;
  scheme?: Scheme;
  symmetric?: boolean;
  strict?: boolean;
  percentile?: number;
  rounding?: Rounding;
  minRange?: number;
  /** Default: per channel for Conv, ConvTranspose, MatMul and Gemm weights. */
  perChannel?: boolean;
  /** Block-wise along the reduction axis (ONNX opset 21; MatMulNBits: default 32). */
  blockSize?: number;
  /** Tensors with fewer values stay float; default 1024. */
  minElements?: number;
  /** Weights to keep float. */
  keep?: WeightMatcher | readonly WeightMatcher[];
  /** Overrides per weight; later rules win. */
  rules?: readonly ModelRule[];
  /** The op families whose weights are quantized; default Conv, ConvTranspose, MatMul, Gemm, Gather, LSTM, GRU, RNN. */
  ops?: readonly string[];
  /** Re-quantize weights a TF.js manifest already stores quantized or as float16. */
  requantize?: boolean;
  /** AIMET encodings version; default '0.6.1'. */
  encodingsVersion?: '0.6.1' | '1.0.0';
  /** ONNX: tensors in an external data file; default 'auto' (as the input had, or when over 2 GiB). */
  externalData?: boolean | 'auto';
  /** The main file, when several are given. */
  model?: string;
  /** A quantizer from createQuantizer() to reuse. */
  quantizer?: Quantizer;
  onProgress?: (progress: ModelProgress) => void;
  signal?: AbortSignal;
}

export interface WeightRow {
  name: string;
  op: string;
  shape: number[];
  dtype: string;
  count: number;
  action: 'quantize' | 'keep';
  /** Why the weight stays float. */
  reason?: string;
  scheme?: Scheme;
  bitwidth?: number;
  symmetric?: boolean;
  /** The channel (or block) axis; null per tensor. */
  axis?: number | null;
  blockSize?: number | null;
  /** The stored type: 'uint8', 'int4', … */
  storage?: string;
  /** What the format changed or needs (e.g. an opset). */
  note?: string;
  sqnrDb?: number | null;
  bytesBefore: number;
  bytesAfter: number;
}

export interface ModelTotals {
  weights: number;
  quantized: number;
  kept: number;
  bytesBefore: number;
  bytesAfter: number;
}

/** An input a caller feeds the model (an ONNX graph input without an initializer). */
export interface ModelInput {
  name: string;
  /** onnxruntime's name for its element type ('float32', 'int64', ...); undefined for a non-tensor input. */
  type: string | undefined;
  /** Each dimension: a number, a symbolic dimension's name, or null; null when the model gives no shape. */
  dims: (number | string | null)[] | null;
}

export interface ModelInspection {
  format: 'onnx-qdq' | 'onnx-matmulnbits' | 'tfjs';
  /** The main file's name. */
  model: string;
  /** The model's inputs (ONNX models; what calibrateModel's feeds give). */
  inputs?: ModelInput[];
  tensors: WeightRow[];
  totals: ModelTotals;
  notes: string[];
}

export interface QuantizedModel extends ModelInspection {
  /** The output files by name: the model under its own name, plus external data or shards. */
  files: Record<string, Uint8Array>;
  /** AIMET encodings (0.6.1 or 1.0.0) keyed by the original tensor names. */
  encodings: object;
}

export function quantizeModel(files: ModelFiles, options?: ModelOptions): Promise<QuantizedModel>;
export function inspectModel(files: ModelFiles, options?: ModelOptions): Promise<ModelInspection>;

/** A feed of the model's inputs by name: onnxruntime Tensors or { data, dims, type? }. */
export type CalibrationFeed = Record<string, unknown>;

export interface CalibrationOptions extends ModelOptions {
  /** The onnxruntime module to run the model with: onnxruntime-web, or onnxruntime-node in Node. */
  ort: unknown;
  /** Which activations to calibrate (default: every float32 one). */
  activations?: (name: string) => boolean;
  /** Passed to InferenceSession.create. */
  sessionOptions?: Record<string, unknown>;
  /**
   * Each activation's range and round-trip SQNR (min, max, sqnrDb), from one
   * more read of the inputs once the encodings are known; default true. A
   * one-shot iterable cannot be read again: its rows have no report, and notes
   * say so.
   */
  report?: boolean;
  /**
   * The outputs of ops that only move or select their input's values
   * (Reshape, Transpose, Squeeze, Unsqueeze, Flatten, Split, Slice, Gather,
   * MaxPool, Resize but cubic) take their input's encoding, as onnxruntime's
   * quantizer does, so that those ops run on the codes; default true.
   */
  shareEncodings?: boolean;
  /**
   * The output of a Conv, ConvTranspose, MatMul, Gemm, Add or Mul read only
   * by a Relu or Clip takes the activation's output encoding (asymmetric
   * activations only), as onnxruntime's quantizer does by removing the
   * activation and AIMET by quantizing the pair as one; the activation stays
   * and changes nothing. Default true; false gives the op's output its own
   * encoding (onnxruntime's QDQKeepRemovableActivations).
   */
  fuseActivations?: boolean;
  /**
   * A Concat's inputs take its output's encoding: one scale across the
   * Concat, as TFLite's int8 rules and Qualcomm's HTP want; default false
   * (onnxruntime's QLinearConcat requantizes each input instead, and a
   * value-moving op feeding the Concat, a Resize say, then requantizes too).
   */
  shareConcat?: boolean;
  /**
   * Folds each BatchNormalization, and each Mul or Add by a constant of one
   * value or one per channel, that follows a Conv or ConvTranspose (read by
   * nothing else) into its weight and bias before calibrating, as
   * onnxruntime's optimizer does for the float model; default true. Without
   * it such an op stays float between Q/DQ pairs in the quantized model.
   */
  fold?: boolean;
  /**
   * Nodes that stay float (onnxruntime's nodes_to_exclude, by pattern): a
   * glob on the node's name, a RegExp, a predicate on { name, opType,
   * domain, inputs, outputs }, or a list of them. Their outputs get no Q/DQ
   * pair (so their readers read floats), the weights only they read stay
   * float, and they are not folded; their inputs keep a pair when a
   * quantized op reads them too.
   */
  excludeNodes?: NodeMatcher | readonly NodeMatcher[];
}

/** What excludeNodes' predicates see of a node. */
export interface ModelNode {
  name: string;
  opType: string;
  domain: string;
  inputs: readonly string[];
  outputs: readonly string[];
}

export type NodeMatcher = string | RegExp | ((node: ModelNode) => boolean);

export interface ActivationRow {
  name: string;
  encoding: Encoding;
  /** The smallest and largest finite value the activation took over all the inputs (with the report). */
  min?: number;
  max?: number;
  /**
   * 10·log10(Σx² / Σ(x̂ − x)²) of the activation's values over all the inputs,
   * quantized and dequantized under `encoding` as QuantizeLinear does (half to
   * even), as `analyze` reports it; Infinity when exact. min, max and sqnrDb
   * are absent with `report: false` or a one-shot iterable of inputs.
   */
  sqnrDb?: number;
}

export interface CalibratedModel {
  /** The fully quantized QDQ model's files. */
  files: Record<string, Uint8Array>;
  /** How many ops of each kind `fold` folded into the Convs before them. */
  folded: { BatchNormalization: number; Mul: number; Add: number };
  /**
   * One per float32 input or output of the integer-capable ops of the main
   * graph and of the If branches the inputs took, in graph order.
   */
  activations: ActivationRow[];
  /** AIMET: activation_encodings and the weights' param_encodings. */
  encodings: Record<string, unknown>;
  tensors: WeightRow[];
  totals: ModelTotals;
  notes: string[];
}

/**
 * Calibrates an ONNX model's activations by running it in options.ort over
 * the inputs (an array of feeds, or a function returning a fresh iterable of
 * them: multi-pass schemes read them once per pass).
 */
export function calibrateModel(
  files: ModelFiles,
  inputs:
    | readonly CalibrationFeed[]
    | (() => Iterable<CalibrationFeed> | AsyncIterable<CalibrationFeed>)
    | Iterable<CalibrationFeed>
    | AsyncIterable<CalibrationFeed>,
  options: CalibrationOptions,
): Promise<CalibratedModel>;

/** A tensor read from a file, as readNpy gives it (or one of readSafetensors' tensors). */
export interface FileTensor {
  dtype: string;
  shape: number[];
  data: ArrayLike<number | bigint>;
}

/** A feed's tensor as onnxruntime takes it. */
export interface FeedTensor {
  type: string;
  data: ArrayLike<number | bigint>;
  dims: number[];
}

/**
 * One tensor for `input` (one of inspectModel's `inputs`): float data for
 * float inputs, integers widened for integer ones. Throws a RangeError
 * naming the input when the shape or the data does not fit.
 */
export function feedTensor(tensor: FileTensor, input: ModelInput, model?: string): FeedTensor;

/**
 * A calibration feed from tensors by input name (readSafetensors' tensors,
 * or { [input]: readNpy(bytes) }), checked against the model's inputs: every
 * input given and no other tensor.
 */
export function calibrationFeed(tensors: Record<string, FileTensor>, inputs: readonly ModelInput[], model?: string): Record<string, FeedTensor>;
