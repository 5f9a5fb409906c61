// Quantizes a real model that ships in an npm package — Silero VAD from
// @ricky0123/vad-web — the way a Node build step would, checks it in
// onnxruntime-node against the float model, and writes the model and its
// AIMET encodings to examples/out/.
//   npm i wasmquant @ricky0123/vad-web onnxruntime-node   (this repository has them as devDependencies)
//   node examples/quantize-model.js
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { quantizeModel } from '../web/models/index.js'; // 'wasmquant/models' in your project

const require = createRequire(import.meta.url);
const modelPath = join(dirname(require.resolve('@ricky0123/vad-web/package.json')), 'dist', 'silero_vad_legacy.onnx');
const bytes = readFileSync(modelPath);

const result = await quantizeModel({ 'silero_vad.onnx': bytes });
const { totals } = result;
console.log(`${totals.quantized} weights quantized, ${totals.kept} kept; ${totals.bytesBefore} → ${totals.bytesAfter} bytes of weights`);
for (const row of result.tensors.filter((t) => t.action === 'quantize').slice(0, 4)) {
  console.log(
    `  ${row.name} (${row.op} ${row.shape.join('x')}): ${row.storage}${row.axis === null ? '' : ` per channel, axis ${row.axis}`}, SQNR ${row.sqnrDb.toFixed(1)} dB`,
  );
}

// One frame of a tone, run through both models with a zero state.
async function speechProbability(model) {
  const session = await ort.InferenceSession.create(model);
  const frame = Float32Array.from({ length: 512 }, (_, i) => 0.3 * Math.sin(i * 0.06));
  const zeros = new Float32Array(128);
  const out = await session.run({
    input: new ort.Tensor('float32', frame, [1, 512]),
    sr: new ort.Tensor('int64', BigInt64Array.of(16000n), []),
    h: new ort.Tensor('float32', zeros, [2, 1, 64]),
    c: new ort.Tensor('float32', zeros, [2, 1, 64]),
  });
  return out.output.data[0];
}
const [float, quantized] = [await speechProbability(bytes), await speechProbability(result.files['silero_vad.onnx'])];
console.log(`speech probability: float ${float.toFixed(4)}, 8-bit ${quantized.toFixed(4)}`);

const out = join(dirname(fileURLToPath(import.meta.url)), 'out');
mkdirSync(out, { recursive: true });
for (const [name, data] of Object.entries(result.files)) writeFileSync(join(out, name), data);
writeFileSync(join(out, 'silero_vad.encodings.json'), JSON.stringify(result.encodings, null, 2));
console.log(
  `wrote ${Object.keys(result.files).join(', ')} and silero_vad.encodings.json to ${out} (${bytes.length} → ${result.files['silero_vad.onnx'].length} bytes)`,
);
