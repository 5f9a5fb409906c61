// Quantizer methods for wasmquant/models only, keyed by symbols: they are not
// part of the public API (the package exports no path to this file).

// quantizer[QUANTIZE_MEASURED](x, options, into?) → { codes, encodings: EncodingTable, report }
export const QUANTIZE_MEASURED = Symbol('wasmquant.quantizeMeasured');

// quantizer[ANALYZE_BATCHES](options) → a Calibration (add, endPass, finish)
// whose finish() is analyze's report over every batch added.
export const ANALYZE_BATCHES = Symbol('wasmquant.analyzeBatches');
