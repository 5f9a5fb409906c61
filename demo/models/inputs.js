// The generated input of the model check, and how far two outputs are apart.
// Shared by the worker (check.js) and, for its numbers, the tests.

import { mulberry32 } from '../random.js';

const FREE_SIZE = 256; // free dimensions other than the batch

// Symbolic or unknown dimensions: the batch (the first dimension, or one
// named like it) is 1; any other is `size`. One name is one value throughout,
// so that a recurrent state [2, 'batch', 64] agrees with its input.
function shapeOf(shape, named, size) {
  if (!Array.isArray(shape)) throw new Error('the runtime gives no shape for an input');
  return shape.map((d, i) => {
    if (typeof d === 'number' && d >= 0) return d;
    const key = typeof d === 'string' && d !== '' ? d : null;
    if (key && named.has(key)) return named.get(key);
    const value = i === 0 || /batch|^n$/i.test(key ?? '') ? 1 : size;
    if (key) named.set(key, value);
    return value;
  });
}

// Integer inputs are usually sizes, indices or rates: small valid values.
// The one named 'sr' is Silero VAD's sample rate (8000 or 16000): special-cased by name.
function integerValue(name) {
  return name === 'sr' ? 16000 : 1;
}

/**
 * [{ name, type, shape }] → [{ name, type, shape, data, fill }]: uniform noise
 * in [-1, 1] for float inputs, a constant for integer ones.
 */
export function generateInputs(inputs, { size = FREE_SIZE, seed = 1, int = 'int64' } = {}) {
  const rand = mulberry32(seed);
  const named = new Map();
  return inputs.map(({ name, type, shape }) => {
    const dims = shapeOf(shape, named, size);
    const n = dims.reduce((a, b) => a * b, 1);
    if (type === 'float32') {
      const data = new Float32Array(n);
      for (let i = 0; i < n; i += 1) data[i] = rand() * 2 - 1;
      return { name, type, shape: dims, data, fill: 'uniform noise in [-1, 1]' };
    }
    const v = integerValue(name);
    if (type === 'int64')
      return { name, type: int, shape: dims, data: int === 'int64' ? new BigInt64Array(n).fill(BigInt(v)) : new Int32Array(n).fill(v), fill: `${v}` };
    if (type === 'int32') return { name, type, shape: dims, data: new Int32Array(n).fill(v), fill: `${v}` };
    if (type === 'bool') return { name, type, shape: dims, data: new Uint8Array(n), fill: 'false' };
    throw new Error(`input "${name}" is ${type}: the check generates float32, int32, int64 and bool inputs only`);
  });
}

/** Largest absolute difference, cosine similarity and the RMS of `a`; non-finite values are counted apart. */
export function closeness(a, b) {
  let maxAbs = 0;
  let dot = 0;
  let na = 0;
  let nb = 0;
  let nonFinite = 0;
  for (let i = 0; i < a.length; i += 1) {
    const x = Number(a[i]);
    const y = Number(b[i]);
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      nonFinite += 1;
      continue;
    }
    maxAbs = Math.max(maxAbs, Math.abs(x - y));
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  const cosine = na === 0 && nb === 0 ? 1 : na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
  const finite = a.length - nonFinite;
  return { maxAbs, cosine, rms: finite > 0 ? Math.sqrt(na / finite) : 0, nonFinite };
}
