// Quantizes the spec's worked example (docs/spec.md §2.1) and a built-in sample tensor (synthetic
// conv weights with a few outliers), printing the encodings and the error.
import { createQuantizer } from '../web/index.js';

// A small deterministic PRNG, so every run shows the same numbers.
function mulberry32(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sampleConvWeights(outChannels = 64, inChannels = 32, k = 3) {
  const random = mulberry32(42);
  const n = outChannels * inChannels * k * k;
  const w = new Float32Array(n);
  for (let i = 0; i < n; i += 1) {
    // Box-Muller normal, He-style scale for a 3x3 conv over 32 channels.
    const g = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    w[i] = g * Math.sqrt(2 / (inChannels * k * k));
  }
  for (const i of [17, 4242, 9001]) w[i] *= 12; // the outliers that stretch the range
  return w;
}

function show(title, report) {
  const e = report.encoding;
  console.log(`\n${title}`);
  console.log(
    `  encoding  bitwidth ${e.bitwidth}  min ${e.min.toPrecision(8)}  max ${e.max.toPrecision(8)}` +
      `  scale ${e.scale.toPrecision(8)}  offset ${e.offset}`,
  );
  console.log(
    `  error     MSE ${report.mse.toExponential(3)}  RMSE ${report.rmse.toExponential(3)}` +
      `  max |e| ${report.maxAbsError.toExponential(3)}  SQNR ${report.sqnrDb.toFixed(2)} dB` +
      `  clipped ${report.clipped} of ${report.count}`,
  );
}

const wq = await createQuantizer();
console.log(`wasmquant backend: ${wq.backend}`);

const worked = new Float32Array([-1.8, -1.0, 0, 0.5]);
const { codes, encoding } = wq.quantize(worked);
console.log('\ndocs/spec.md worked example [-1.8, -1.0, 0, 0.5], 8-bit tf:');
console.log(`  codes        [${[...codes].join(', ')}]   (expected [0, 89, 200, 255])`);
console.log(`  dequantized  [${[...wq.dequantize(codes, encoding)].map((v) => v.toFixed(7)).join(', ')}]`);
show('  report', wq.analyze(worked));

const weights = sampleConvWeights();
for (const bitwidth of [8, 4, 16]) {
  show(`Sample conv weights [64, 32, 3, 3] (${weights.length} values, 3 outliers), ${bitwidth}-bit tf:`, wq.analyze(weights, { bitwidth }));
}
