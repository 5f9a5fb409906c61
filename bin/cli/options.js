// The options the commands share, defined once: the weight options of
// inspect, quantize and calibrate, and how they map to the library's.
import { InvalidArgumentError, Option } from 'commander';

export function integer(min, max, what) {
  return (value) => {
    const n = Number(value);
    if (!/^\s*\d+\s*$/.test(value) || n < min || n > max) {
      throw new InvalidArgumentError(
        max === Infinity ? `${what} must be an integer >= ${min}.` : `${what} must be an integer from ${min} to ${max}.`,
      );
    }
    return n;
  };
}

// A decimal number; its range is the core's to check (one message for the
// library and the command line).
export function number(what) {
  return (value) => {
    if (!/^\s*[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?\s*$/i.test(value)) throw new InvalidArgumentError(`${what} must be a number.`);
    return Number(value);
  };
}

export const collect = (value, previous = []) => [...previous, value];

function quantizeOptions() {
  return [
    new Option('--bits <n>', 'bitwidth, 2..16 (default 8; 4 for MatMul with --format matmulnbits)').argParser(integer(2, 16, 'bits')),
    new Option('--scheme <scheme>', 'calibration scheme (default tf)').choices(['tf', 'symmetric', 'tf_enhanced', 'percentile']),
    new Option('--per-channel', 'one encoding per output channel').conflicts('perTensor'),
    new Option('--per-tensor', 'one encoding per tensor'),
    new Option('--rounding <mode>', 'rounding (default half-up)').choices(['half-up', 'half-even']),
    new Option('--format <format>', 'output format (ONNX: qdq or matmulnbits; TF.js: tfjs)').choices(['qdq', 'matmulnbits', 'tfjs']),
    new Option('--block-size <n>', 'block-wise quantization along the reduction axis').argParser(integer(1, Infinity, 'block-size')),
    new Option('--keep <pattern>', 'keep float the weights whose name matches this glob (repeatable)').argParser(collect),
    new Option('--min-elements <n>', 'tensors with fewer values stay float (models: default 1024)').argParser(integer(0, Infinity, 'min-elements')),
    new Option('--requantize', 'TF.js: re-quantize weights the manifest already stores quantized or as float16'),
    new Option('--json', 'print one JSON object on stdout instead of the table'),
  ];
}

// omit: long flags the command has no use for; describe: { flag: text }
// where the command gives an option another meaning or default.
export function addQuantizeOptions(cmd, { omit = [], describe = {} } = {}) {
  for (const option of quantizeOptions()) {
    if (omit.includes(option.long)) continue;
    if (describe[option.long] !== undefined) option.description = describe[option.long];
    cmd.addOption(option);
  }
  return cmd;
}

export const encodingsVersionOption = () =>
  new Option('--encodings-version <version>', 'AIMET encodings version').choices(['0.6.1', '1.0.0']).default('0.6.1');

export function libraryOptions(opts) {
  const o = {};
  if (opts.bits !== undefined) o.bitwidth = opts.bits;
  if (opts.scheme !== undefined) o.scheme = opts.scheme;
  if (opts.perChannel) o.perChannel = true;
  if (opts.perTensor) o.perChannel = false;
  if (opts.rounding !== undefined) o.rounding = opts.rounding;
  if (opts.format !== undefined) o.format = opts.format;
  if (opts.blockSize !== undefined) o.blockSize = opts.blockSize;
  if (opts.keep !== undefined) o.keep = opts.keep;
  if (opts.minElements !== undefined) o.minElements = opts.minElements;
  if (opts.requantize) o.requantize = true;
  if (opts.encodingsVersion !== undefined) o.encodingsVersion = opts.encodingsVersion;
  return o;
}
