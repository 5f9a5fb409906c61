// Calibration feeds from tensors read out of files (.npy, .safetensors),
// checked against the model's inputs (inspectModel's `inputs`): float data
// for float inputs (float16 and float64 files arrive as float32, as the
// readers widen them), integers for integer inputs, widened (an int16 file
// feeds an int64 input) and checked to fit.

const FLOATS = new Set(['float32', 'float16', 'bfloat16', 'float64']);
const INTEGERS = {
  uint8: [Uint8Array, 0, 255],
  int8: [Int8Array, -128, 127],
  uint16: [Uint16Array, 0, 65535],
  int16: [Int16Array, -32768, 32767],
  uint32: [Uint32Array, 0, 2 ** 32 - 1],
  int32: [Int32Array, -(2 ** 31), 2 ** 31 - 1],
  uint64: [BigUint64Array, 0, Infinity],
  int64: [BigInt64Array, -Infinity, Infinity],
};

const dimsText = (dims) => `[${dims.map((d) => (typeof d === 'number' ? d : '?')).join(',')}]`;
const listText = (inputs) => inputs.map((i) => i.name).join(', ');

class FeedError extends RangeError {}

/**
 * One tensor ({ dtype, shape, data }, as readNpy gives) as onnxruntime takes
 * it for `input` ({ name, type, dims }): { type, data, dims }. Throws a
 * RangeError naming the input (and `model`, its name in the message).
 */
export function feedTensor(t, input, model = 'the model') {
  const fail = (message) => {
    throw new FeedError(message);
  };
  const { dims, type } = input;
  if (dims && (dims.length !== t.shape.length || dims.some((d, k) => typeof d === 'number' && d !== t.shape[k]))) {
    fail(`shape [${t.shape.join(',')}] does not fit input "${input.name}" of ${model}, ${dimsText(dims)}`);
  }
  const float = FLOATS.has(t.dtype);
  if (type === 'float32' || (type === undefined && float)) {
    if (!float) fail(`${t.dtype} data for float32 input "${input.name}": give float32 data, preprocessed as the model expects`);
    return { type: 'float32', data: t.data, dims: t.shape };
  }
  if (type === 'float64' && float) return { type, data: Float64Array.from(t.data), dims: t.shape };
  const integer = INTEGERS[type ?? t.dtype];
  if (!integer) fail(`input "${input.name}" of ${model} is ${type}, which a calibration feed cannot hold`);
  if (float) fail(`${t.dtype} data for ${type} input "${input.name}": give integer data`);
  const [Type, min, max] = integer;
  for (let i = 0; i < t.data.length; i += 1) {
    const v = t.data[i];
    if (v < min || v > max) fail(`element ${i} is ${v}, outside ${type} input "${input.name}"`);
  }
  const data = Type === BigInt64Array || Type === BigUint64Array ? Type.from(t.data, BigInt) : Type.from(t.data);
  return { type: type ?? t.dtype, data, dims: t.shape };
}

/**
 * A calibration feed { input: { type, data, dims } } from tensors by input
 * name (readSafetensors' `tensors`, or { input: readNpy(bytes) }): every
 * input given, no other tensor, each as feedTensor makes it.
 */
export function calibrationFeed(tensors, inputs, model = 'the model') {
  for (const name of Object.keys(tensors)) {
    if (!inputs.some((i) => i.name === name)) throw new FeedError(`tensor "${name}" is not an input of ${model} (its inputs: ${listText(inputs)})`);
  }
  const feed = {};
  for (const input of inputs) {
    if (!tensors[input.name]) throw new FeedError(`no tensor "${input.name}" (the inputs of ${model}: ${listText(inputs)})`);
    try {
      feed[input.name] = feedTensor(tensors[input.name], input, model);
    } catch (e) {
      if (e instanceof FeedError) throw new FeedError(`tensor "${input.name}": ${e.message}`);
      throw e;
    }
  }
  return feed;
}
