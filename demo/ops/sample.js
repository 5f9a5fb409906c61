// The built-in sample tensors.
import { mulberry32 } from '../random.js';
import { replaceSource } from './source.js';

export function gaussian(rand) {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** The built-in sample: a small synthetic conv net's tensors, with outliers. */
export function loadSample() {
  const rand = mulberry32(20240611);
  const tensors = new Map();
  const add = (name, shape, fill) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    fill(data);
    tensors.set(name, { name, dtype: 'float32', shape, data, bytes: n * 4 });
  };
  // Conv weights [O, I, kH, kW]: Laplace values whose spread differs per
  // output channel (×8 from first to last), with 0.2 % outliers of 8-16 σ and
  // one channel with a single huge one — where per-tensor 'tf' wastes its grid.
  const [O, I, K] = [64, 32, 3];
  add('conv1.weight', [O, I, K, K], (w) => {
    const inner = I * K * K;
    for (let o = 0; o < O; o += 1) {
      const b = 0.012 * 8 ** (((o * 37) % O) / (O - 1));
      for (let j = 0; j < inner; j += 1) {
        const u = rand() - 0.5;
        let v = -b * Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
        if (rand() < 0.002) v = (rand() < 0.5 ? -1 : 1) * b * (8 + 8 * rand());
        w[o * inner + j] = v;
      }
    }
    w[13 * inner + 100] = 1.9; // the outlier channel
  });
  add('conv1.bias', [O], (b) => b.forEach((_, i) => (b[i] = 0.05 * gaussian(rand))));
  add('fc.weight', [10, 512], (w) => w.forEach((_, i) => (w[i] = 0.045 * gaussian(rand))));
  add('fc.bias', [10], (b) => b.forEach((_, i) => (b[i] = 0.02 * gaussian(rand))));
  // ReLU outputs: non-negative, mostly small, a long tail.
  add('block1.relu', [1, 16, 24, 24], (x) =>
    x.forEach((_, i) => (x[i] = Math.max(0, 0.35 * gaussian(rand) + (rand() < 0.01 ? 3 * rand() ** 2 * 4 : 0.1)))),
  );
  return replaceSource({
    name: 'sample: synthetic conv net (conv weights with outliers)',
    kind: 'sample',
    tensors,
    metadata: {},
  });
}
