// The demo page (demo/) in real headless Chromium and Firefox ESR, the same
// tests in each (tests/e2e/driver.js): what a person does with it, checked
// against the package's JS API run here in Node on the same data.
// Screenshots of the main states go to test-results/e2e/<browser>/.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../js/helpers.js';
import { createQuantizer, fromAimetEncodings, readNpy, readSafetensors, writeNpy, writeSafetensors } from '../../web/index.js';
import { BROWSERS, openBrowser, outsideRequests } from './browser.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIG_MB = Number(process.env.E2E_BIG_MB ?? 200);

let b; // openBrowser(), one per browser
let page;
let shots;
let wq;

// ------------------------------------------------------------------ data

// Laplace values, per-row spread, and a few outliers: a conv-weight look-alike.
function weights(shape, seed, spread = 0.05) {
  const rand = mulberry32(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const rows = shape[0];
  const inner = n / rows;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i += 1) {
    const b = spread * (1 + Math.floor(i / inner) / rows);
    const u = rand() - 0.5;
    x[i] = -b * Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
    if (rand() < 0.003) x[i] = (rand() < 0.5 ? -12 : 12) * b;
  }
  return x;
}

const NPY = { name: 'layer3.conv.weight', shape: [24, 8, 3, 3] };
const npyData = weights(NPY.shape, 7);

const ST = {
  'encoder.conv.weight': { data: weights([16, 4, 3, 3], 11), shape: [16, 4, 3, 3] },
  'encoder.conv.bias': { data: weights([16], 12, 0.1), shape: [16] },
  'head.fc.weight': { data: Float64Array.from(weights([10, 64], 13, 0.02)), shape: [10, 64] },
  'head.fc.bias': { data: weights([10], 14, 0.01), shape: [10] },
};
const asFloat32 = (t) => (t.data instanceof Float32Array ? t.data : Float32Array.from(t.data));

// What the page passes to analyze for a setting.
function apiOptions({ scheme = 'tf', bitwidth = 8, rounding = 'half-up', percentile, shape, axis } = {}) {
  const o = { scheme, bitwidth, rounding, nonFinite: 'saturate' };
  if (scheme === 'percentile' && percentile !== undefined) o.percentile = percentile;
  if (axis !== undefined && axis !== null) Object.assign(o, { shape, axis });
  return o;
}

// ------------------------------------------------------------- helpers

const shot = (name) => page.shot(join(shots, `${name}.png`));

// Waits until the page shows the results of `key` and is idle.
async function settled(key, timeout = 30_000) {
  try {
    await page.waitForFunction(
      (k) => document.body.dataset.status === 'ready' && (k === null || document.getElementById('results').dataset.key === k),
      key,
      { timeout },
    );
  } catch (e) {
    const shown = await page.evaluate(() => ({
      status: `${document.body.dataset.status}: ${document.getElementById('status-text').textContent}`,
      key: document.getElementById('results').dataset.key,
      errors: ['input-error', 'results-error', 'download-error'].map((id) => document.getElementById(id).textContent).filter(Boolean),
    }));
    await shot('failure').catch(() => {});
    throw new Error(`waiting for ${key ?? 'the page'}: ${e.message}\npage: ${JSON.stringify(shown)}\npage errors: ${JSON.stringify(b.pageErrors)}`, {
      cause: e,
    });
  }
}

const keyOf = (name, { scheme = 'tf', bitwidth = 8, rounding = 'half-up', percentile = '', axis = null } = {}) =>
  [name, scheme, bitwidth, rounding, scheme === 'percentile' ? percentile : '', axis ?? 'tensor'].join('|');

async function metrics() {
  return page.evaluate(() => {
    const value = (id) => Number(document.getElementById(id).dataset.value);
    const encoding = {};
    for (const dd of document.querySelectorAll('#encoding dd')) encoding[dd.dataset.field] = dd.dataset.value;
    return {
      sqnrDb: value('m-sqnr'),
      mse: value('m-mse'),
      rmse: value('m-rmse'),
      maxAbsError: value('m-maxabs'),
      meanAbsError: value('m-meanabs'),
      clipped: value('m-clipped'),
      encoding,
    };
  });
}

function expectClose(actual, expected, what) {
  if (expected === Infinity) {
    expect(actual, what).toBe(Infinity);
    return;
  }
  const tolerance = 1e-12 * Math.max(1, Math.abs(expected));
  expect(Math.abs(actual - expected), `${what}: page ${actual}, API ${expected}`).toBeLessThanOrEqual(tolerance);
}

function expectReport(shown, report) {
  for (const k of ['sqnrDb', 'mse', 'rmse', 'maxAbsError', 'meanAbsError']) expectClose(shown[k], report[k], k);
  expect(shown.clipped).toBe(report.clipped);
  if (!Array.isArray(report.encoding)) {
    for (const k of ['min', 'max', 'scale', 'offset', 'bitwidth']) expectClose(Number(shown.encoding[k]), report.encoding[k], `encoding.${k}`);
  }
}

const upload = (name, bytes) => page.setInputFiles('#file', [{ name, bytes }]);

// Drops a file on the drop zone as a person would (a real DataTransfer).
async function dropFile(name, bytes) {
  await page.evaluate(
    ({ name, data }) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([new Uint8Array(data)], name));
      const zone = document.getElementById('drop');
      for (const type of ['dragenter', 'dragover', 'drop']) {
        zone.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }));
      }
    },
    { name, data: [...bytes] },
  );
}

async function downloadBytes(selector) {
  const [[name, bytes], ...more] = Object.entries(await page.downloads(selector));
  expect(more).toEqual([]);
  return { name, bytes };
}

// ---------------------------------------------------------------- setup

beforeAll(async () => {
  for (const f of ['dist/wasmquant-simd128.wasm', 'dist/wasmquant-scalar.wasm']) {
    try {
      readFileSync(join(ROOT, f));
    } catch {
      throw new Error(`${f} is missing: run \`npm run build\` first`);
    }
  }
  wq = await createQuantizer();
});

// ---------------------------------------------------------------- tests

describe.each(BROWSERS)('the demo page in %s', (browser) => {
  beforeAll(async () => {
    shots = join(ROOT, 'test-results/e2e', browser);
    mkdirSync(shots, { recursive: true });
    b = await openBrowser(browser);
    page = b.page;
  });

  afterAll(async () => {
    await b?.close();
  });

  it('loads and shows the built-in sample at once', async () => {
    await page.goto(`${b.origin}/`);
    await settled(keyOf('conv1.weight'));
    expect(page.url()).toBe(`${b.origin}/demo/`);
    expect(await page.textContent('#backend')).toMatch(/wasm (SIMD128|scalar)/);
    const m = await metrics();
    expect(m.sqnrDb).toBeGreaterThan(15);
    expect(m.sqnrDb).toBeLessThan(60);
    expect(Number(m.encoding.offset)).toBeLessThanOrEqual(0);
    expect(await page.count('#tensor-list .tensor')).toBe(5);
    expect(await page.count('#overview-table tbody tr')).toBe(5);
    // Every scheme × 4, 8, 16 bits, one ★ per bitwidth.
    expect(await page.count('#compare-table tbody td')).toBe(12);
    expect(await page.count('#compare-table td[data-best="true"]')).toBeGreaterThanOrEqual(3);
    expect(await page.getAttribute('#hist', 'aria-label')).toMatch(/Histogram of 18,432 values/);
    await shot('01-sample');
    // The README's screenshot, Chromium's: UPDATE_DEMO_SCREENSHOT=1 npm run test:e2e
    if (process.env.UPDATE_DEMO_SCREENSHOT && browser === 'chromium') {
      mkdirSync(join(ROOT, 'docs'), { recursive: true });
      const bottom = await page.evaluate(() => document.getElementById('overview').getBoundingClientRect().bottom + window.scrollY + 20);
      await page.shot(join(ROOT, 'docs/demo.png'), { clip: { x: 0, y: 0, width: 1440, height: Math.ceil(bottom) } });
    }
  });

  it("reads an uploaded .npy and shows the API's numbers", async () => {
    await upload(`${NPY.name}.npy`, writeNpy(npyData, NPY.shape));
    await settled(keyOf(NPY.name));
    expect(await page.textContent('#tensor-list')).toContain('[24, 8, 3, 3]');
    expectReport(await metrics(), wq.analyze(npyData, apiOptions()));
    // The comparison table: every cell is the API's SQNR for that setting.
    const cells = await page.$$eval('#compare-table td', (tds) =>
      tds.map((td) => ({
        scheme: td.dataset.scheme,
        bits: Number(td.dataset.bits),
        value: Number(td.dataset.value),
        best: td.dataset.best === 'true',
      })),
    );
    for (const c of cells)
      expectClose(c.value, wq.analyze(npyData, apiOptions({ scheme: c.scheme, bitwidth: c.bits })).sqnrDb, `${c.scheme}@${c.bits}`);
    for (const bits of [4, 8, 16]) {
      const column = cells.filter((c) => c.bits === bits);
      const top = Math.max(...column.map((c) => c.value));
      expect(column.find((c) => c.value === top).best).toBe(true);
      for (const c of column) expect(c.best, `${c.scheme}@${bits}`).toBe(c.value.toFixed(2) === top.toFixed(2));
    }
    await shot('02-npy');
  });

  it('updates when the scheme, bitwidth, rounding and percentile change', async () => {
    await page.selectOption('#scheme', 'tf_enhanced');
    await settled(keyOf(NPY.name, { scheme: 'tf_enhanced' }));
    expectReport(await metrics(), wq.analyze(npyData, apiOptions({ scheme: 'tf_enhanced' })));

    await page.click('[data-bits="4"]');
    await settled(keyOf(NPY.name, { scheme: 'tf_enhanced', bitwidth: 4 }));
    const at4 = wq.analyze(npyData, apiOptions({ scheme: 'tf_enhanced', bitwidth: 4 }));
    expectReport(await metrics(), at4);
    expect(at4.clipped).toBeGreaterThan(0); // the range search clips the outliers
    await shot('03-tf_enhanced-4bit');

    await page.fill('#bitwidth', '6');
    await settled(keyOf(NPY.name, { scheme: 'tf_enhanced', bitwidth: 6 }));
    expectReport(await metrics(), wq.analyze(npyData, apiOptions({ scheme: 'tf_enhanced', bitwidth: 6 })));
    // The comparison gains a column for the chosen bitwidth.
    expect(await page.count('#compare-table td[data-bits="6"]')).toBe(4);

    await page.selectOption('#scheme', 'symmetric');
    await page.selectOption('#rounding', 'half-even');
    await settled(keyOf(NPY.name, { scheme: 'symmetric', bitwidth: 6, rounding: 'half-even' }));
    const sym = wq.analyze(npyData, apiOptions({ scheme: 'symmetric', bitwidth: 6, rounding: 'half-even' }));
    expectReport(await metrics(), sym);
    expect(sym.encoding.isSymmetric).toBe(true);

    await page.selectOption('#scheme', 'percentile');
    await page.fill('#percentile', '99.5');
    await settled(keyOf(NPY.name, { scheme: 'percentile', bitwidth: 6, rounding: 'half-even', percentile: 99.5 }));
    expectReport(await metrics(), wq.analyze(npyData, apiOptions({ scheme: 'percentile', bitwidth: 6, rounding: 'half-even', percentile: 99.5 })));

    // Back to the defaults, by keyboard on the comparison table: tf at 8 bits.
    await page.selectOption('#rounding', 'half-up');
    await settled(null);
    await page.focus('#compare-table td[data-scheme="tf"][data-bits="8"] button');
    await page.press('Enter');
    await settled(keyOf(NPY.name));
    expect(await page.inputValue('#scheme')).toBe('tf');
    expect(await page.inputValue('#bitwidth')).toBe('8');
  });

  it('quantizes per channel and lists the worst channels first', async () => {
    await page.selectOption('#axis', '0');
    await settled(keyOf(NPY.name, { axis: 0 }));
    const report = wq.analyze(npyData, apiOptions({ shape: NPY.shape, axis: 0 }));
    expectReport(await metrics(), report);
    const rows = await page.$$eval('#channel-table tbody tr', (trs) =>
      trs.map((tr) => ({ channel: Number(tr.dataset.channel), cells: [...tr.querySelectorAll('td')].map((td) => Number(td.dataset.value)) })),
    );
    expect(rows).toHaveLength(NPY.shape[0]);
    const sqnrs = rows.map((r) => r.cells[4]);
    expect(sqnrs).toEqual([...sqnrs].sort((a, b) => a - b)); // worst first
    for (const r of rows) {
      const c = report.channels[r.channel];
      const [min, max, scale, offset, sqnrDb, mse, maxAbsError, clipped] = r.cells;
      expectClose(min, c.encoding.min, `channel ${r.channel} min`);
      expectClose(max, c.encoding.max, `channel ${r.channel} max`);
      expectClose(scale, c.encoding.scale, `channel ${r.channel} scale`);
      expect(offset).toBe(c.encoding.offset);
      expectClose(sqnrDb, c.sqnrDb, `channel ${r.channel} SQNR`);
      expectClose(mse, c.mse, `channel ${r.channel} MSE`);
      expectClose(maxAbsError, c.maxAbsError, `channel ${r.channel} max abs error`);
      expect(clipped).toBe(c.clipped);
    }
    // The plots show the worst channel's grid.
    const worst = rows[0].channel;
    expect(await page.inputValue('#view')).toBe(String(worst));
    // Sorting by a column header (keyboard: the header is a button).
    await page.focus('#channel-table thead button[data-key="channel"]');
    await page.press('Enter');
    expect(await page.$$eval('#channel-table tbody tr', (trs) => trs.slice(0, 3).map((tr) => tr.dataset.channel))).toEqual(['0', '1', '2']);
    await shot('04-per-channel');
    await page.selectOption('#axis', '');
    await settled(keyOf(NPY.name));
  });

  it('lists every tensor of a .safetensors file with its SQNR and size', async () => {
    await dropFile('model.safetensors', writeSafetensors(ST, { producer: 'wasmquant e2e' }));
    // The file's first tensor is shown; pick another one from the list.
    await settled(keyOf('head.fc.weight'));
    await page.check('#tensor-list input[value="encoder.conv.weight"]');
    await settled(keyOf('encoder.conv.weight'));
    const list = await page.$$eval('#tensor-list .tensor', (labels) => labels.map((l) => l.textContent));
    expect(list).toHaveLength(4);
    expect(list.join('\n')).toMatch(/head\.fc\.weight\s*float64 → float32 · \[10, 64\] · 640 values · 5\.00 KiB/);
    expect(list.join('\n')).toMatch(/encoder\.conv\.bias\s*float32 · \[16\] · 16 values · 64 B/);
    const rows = await page.$$eval('#overview-table tbody tr', (trs) =>
      trs.map((tr) => {
        const cell = (k) => tr.querySelector(`td[data-key="${k}"]`).dataset.value;
        return { name: tr.dataset.name, sqnrDb: Number(cell('sqnrDb')), before: Number(cell('bytesBefore')), after: Number(cell('bytesAfter')) };
      }),
    );
    expect(rows.map((r) => r.name).sort()).toEqual(Object.keys(ST).sort());
    for (const r of rows) {
      const t = ST[r.name];
      expectClose(r.sqnrDb, wq.analyze(asFloat32(t), apiOptions()).sqnrDb, `${r.name} SQNR`);
      expect(r.before).toBe(t.data.byteLength);
      expect(r.after).toBe(t.data.length); // one byte per code at 8 bits
    }
    expectReport(await metrics(), wq.analyze(ST['encoder.conv.weight'].data, apiOptions()));
    // Pick another tensor from the table.
    await page.click('#overview-table tr[data-name="head.fc.weight"] button');
    await settled(keyOf('head.fc.weight'));
    expectReport(await metrics(), wq.analyze(asFloat32(ST['head.fc.weight']), apiOptions()));
    await shot('05-safetensors');
  });

  it('downloads encodings, codes and the dequantized tensors that match the API', async () => {
    // head.fc.weight per channel along axis 0; the other tensors per tensor.
    await page.selectOption('#axis', '0');
    await settled(keyOf('head.fc.weight', { axis: 0 }));
    const expected = {};
    for (const [name, t] of Object.entries(ST)) {
      const o = name === 'head.fc.weight' ? apiOptions({ shape: t.shape, axis: 0 }) : apiOptions();
      expected[name] = { o, ...wq.quantize(asFloat32(t), o) };
    }
    for (const version of ['0.6.1', '1.0.0']) {
      const { name, bytes } = await downloadBytes(`[data-export="encodings"][data-format="${version}"]`);
      expect(name).toMatch(new RegExp(`encodings-${version.replace(/\./g, '\\.')}\\.json$`));
      const json = JSON.parse(new TextDecoder().decode(bytes));
      expect(json.version).toBe(version);
      if (version === '0.6.1') {
        expect(json.param_encodings['encoder.conv.bias'][0].is_symmetric).toBe('False');
        expect(json.param_encodings['head.fc.weight']).toHaveLength(10);
      } else {
        expect(json.param_encodings.find((e) => e.name === 'head.fc.weight').enc_type).toBe('PER_CHANNEL');
      }
      const read = fromAimetEncodings(json);
      expect(Object.keys(read).sort()).toEqual(Object.keys(ST).sort());
      for (const [tensor, e] of Object.entries(expected)) {
        const list = Array.isArray(e.encoding) ? e.encoding : [e.encoding];
        const got = Array.isArray(read[tensor]) ? read[tensor] : [read[tensor]];
        expect(got).toHaveLength(list.length);
        list.forEach((enc, i) => {
          expect(got[i].scale).toBe(enc.scale);
          expect(got[i].offset).toBe(enc.offset);
          expect(got[i].bitwidth).toBe(enc.bitwidth);
          if (version === '0.6.1') expect([got[i].min, got[i].max]).toEqual([enc.min, enc.max]);
        });
        // Applying the downloaded encodings gives the same codes.
        const layout = e.o.axis === undefined ? {} : { shape: e.o.shape, axis: e.o.axis };
        const codes = wq.quantize(asFloat32(ST[tensor]), { encoding: read[tensor], rounding: 'half-up', ...layout }).codes;
        expect(codes).toEqual(e.codes);
      }
    }

    const npy = await downloadBytes('[data-export="codes"][data-format="npy"]');
    expect(npy.name).toBe('head.fc.weight.codes-tf-8bit.npy');
    const codes = readNpy(npy.bytes);
    expect(codes.shape).toEqual([10, 64]);
    expect(codes.data).toEqual(expected['head.fc.weight'].codes);

    const st = readSafetensors((await downloadBytes('[data-export="codes"][data-format="safetensors"]')).bytes);
    for (const [name, e] of Object.entries(expected)) {
      expect(st.tensors[name].shape).toEqual(ST[name].shape);
      expect(st.tensors[name].data).toEqual(e.codes);
    }
    expect(JSON.parse(st.metadata.encodings).version).toBe('1.0.0');

    const deq = readSafetensors((await downloadBytes('[data-export="dequantized"][data-format="safetensors"]')).bytes);
    for (const [name, e] of Object.entries(expected)) {
      const o = Array.isArray(e.encoding) ? { shape: ST[name].shape, axis: 0 } : {};
      expect(deq.tensors[name].data).toEqual(wq.dequantize(e.codes, e.encoding, o));
    }
    await page.selectOption('#axis', '');
    await settled(keyOf('head.fc.weight'));
  });

  it('shows a clear message for a malformed file and keeps working', async () => {
    const before = await metrics();
    await upload('broken.npy', new TextEncoder().encode('this is not a numpy file at all'));
    await page.waitForSelector('#input-error:not([hidden])');
    expect(await page.textContent('#input-error')).toMatch(/Could not open "broken\.npy": .*not a \.npy file/);
    await settled(keyOf('head.fc.weight'));
    expect((await metrics()).sqnrDb).toBe(before.sqnrDb); // the previous file is still loaded
    await shot('06-malformed-file');

    const good = writeSafetensors({ a: { data: new Float32Array(64), shape: [64] } });
    await upload('truncated.safetensors', good.subarray(0, good.length - 10));
    await page.waitForFunction(() => /truncated\.safetensors/.test(document.getElementById('input-error').textContent));
    expect(await page.textContent('#input-error')).toMatch(/truncated|past the end/);

    await upload('odd.bin', new Uint8Array(10));
    await page.waitForFunction(() => /odd\.bin/.test(document.getElementById('input-error').textContent));
    expect(await page.textContent('#input-error')).toMatch(/not a whole number of float32 values/);

    // Still working: a control change updates, and the next good file clears the message.
    await page.click('[data-bits="16"]');
    await settled(keyOf('head.fc.weight', { bitwidth: 16 }));
    expectReport(await metrics(), wq.analyze(asFloat32(ST['head.fc.weight']), apiOptions({ bitwidth: 16 })));
    await page.click('[data-bits="8"]');
    await settled(keyOf('head.fc.weight'));
  });

  it('reads a raw float32 .bin with a shape, and a large one with progress', async () => {
    const x = weights([12, 50], 21);
    await page.fill('#bin-shape', '12, 7');
    await upload('raw.bin', new Uint8Array(x.buffer));
    await page.waitForFunction(() => /raw\.bin/.test(document.getElementById('input-error').textContent));
    expect(await page.textContent('#input-error')).toMatch(/shape \[12, 7\] has 84 elements, but the file holds 600/);
    await page.fill('#bin-shape', '12, 50');
    await upload('raw.bin', new Uint8Array(x.buffer));
    await settled(keyOf('raw'));
    expect(await page.isHidden('#input-error')).toBe(true);
    expectReport(await metrics(), wq.analyze(x, apiOptions()));

    // A large file: generated on disk, handed to the file input by path.
    const n = (BIG_MB << 20) / 4;
    const big = new Float32Array(n);
    const rand = mulberry32(5);
    for (let i = 0; i < n; i += 1) big[i] = rand() * 2 - 0.5;
    const path = join(b.tmp, 'big.bin');
    writeFileSync(path, big);
    await page.fill('#bin-shape', '');
    await page.evaluate(() => {
      globalThis.progressSeen = [];
      new MutationObserver(() => {
        const bar = document.getElementById('progress-bar');
        if (!document.getElementById('progress').hidden)
          globalThis.progressSeen.push([bar.value, document.getElementById('progress-label').textContent]);
      }).observe(document.getElementById('progress'), { attributes: true, subtree: true, childList: true, characterData: true });
    });
    const started = Date.now();
    await page.setInputFiles('#file', path);
    await settled(keyOf('big'), 90_000);
    const seconds = (Date.now() - started) / 1000;
    const seen = await page.evaluate(() => globalThis.progressSeen);
    const reading = seen.filter(([, label]) => label.startsWith('Reading big.bin')).map(([v]) => v);
    expect(reading.length).toBeGreaterThanOrEqual(3);
    expect(reading.some((v) => v > 0 && v < 1)).toBe(true);
    expect(await page.isHidden('#progress')).toBe(true);
    const m = await metrics();
    const report = wq.analyze(big, apiOptions());
    expectReport(m, report);
    expect(await page.textContent('#tensor-list')).toContain(`[${n}]`);
    console.log(`e2e ${browser}: ${BIG_MB} MB .bin read and analyzed in ${seconds.toFixed(1)} s`);
    await shot('07-large-bin');
  }, 150_000);

  it('serves a worker that runs the API off the main thread', async () => {
    // A string, so that Vitest leaves the dynamic import alone: it runs in the page,
    // where the import map resolves the package's bare specifier.
    const result = await page.evaluate(`(async () => {
      const { connectWorker } = await import('wasmquant/worker');
      const worker = connectWorker(new Worker('/web/worker.js', { type: 'module' }));
      const x = new Float32Array([-1.8, -1.0, 0, 0.5]);
      const { codes, encoding } = await worker.call('quantize', [x], { transfer: [x.buffer] });
      const detached = x.byteLength === 0;
      let error;
      try {
        await worker.call('analyze', [new Float32Array(4), { bitwidth: 20 }]);
      } catch (e) {
        error = e.constructor.name + ': ' + e.message;
      }
      let unknown;
      try {
        await worker.call('nope', []);
      } catch (e) {
        unknown = e.constructor.name + ': ' + e.message;
      }
      worker.terminate();
      return { codes: [...codes], offset: encoding.offset, detached, error, unknown };
    })()`);
    expect(result.codes).toEqual([0, 89, 200, 255]);
    expect(result.offset).toBe(-200);
    expect(result.detached).toBe(true);
    expect(result.error).toMatch(/^RangeError: .*bitwidth/);
    expect(result.unknown).toMatch(/^TypeError: .*unknown method "nope"/);
  });

  it('runs the package API in the page: schemes, per-channel, files and a streamed Blob', async () => {
    // The same calls a user's page makes (bare specifier through the import
    // map); the results are compared with the same calls made here in Node.
    const result = await page.evaluate(`(async () => {
      const wasmquant = await import('wasmquant');
      const wq = await wasmquant.createQuantizer();
      const x = new Float32Array(70000);
      for (let i = 0; i < x.length; i += 1) x[i] = Math.sin(i * 0.37) * (1 + (i % 97 === 0 ? 9 : 0));
      const perChannel = wq.quantize(x, { shape: [7, 10000], axis: 0, symmetric: true, scheme: 'tf_enhanced' });
      const { encoding, chunks } = await wq.quantizeStream(new Blob([x]), { scheme: 'percentile', percentile: 99.9 });
      const streamed = [];
      for await (const { codes } of chunks) streamed.push(...codes);
      const npy = wasmquant.readNpy(wasmquant.writeNpy(perChannel.codes, [7, 10000]));
      return {
        backend: wq.backend,
        perChannel: { codes: Array.from(perChannel.codes.subarray(0, 50)), encodings: perChannel.encoding },
        streamed: { encoding, codes: streamed.slice(0, 50), length: streamed.length },
        npy: { dtype: npy.dtype, shape: npy.shape, same: npy.data.every((v, i) => v === perChannel.codes[i]) },
      };
    })()`);
    const wq = await createQuantizer();
    const x = new Float32Array(70000);
    for (let i = 0; i < x.length; i += 1) x[i] = Math.sin(i * 0.37) * (1 + (i % 97 === 0 ? 9 : 0));
    const perChannel = wq.quantize(x, { shape: [7, 10000], axis: 0, symmetric: true, scheme: 'tf_enhanced' });
    const percentile = wq.quantize(x, { scheme: 'percentile', percentile: 99.9 });
    expect(result.backend).toBe('simd128');
    expect(result.perChannel.encodings).toEqual(perChannel.encoding);
    expect(result.perChannel.codes).toEqual(Array.from(perChannel.codes.subarray(0, 50)));
    expect(result.streamed.encoding).toEqual(percentile.encoding);
    expect(result.streamed.length).toBe(x.length);
    expect(result.streamed.codes).toEqual(Array.from(percentile.codes.subarray(0, 50)));
    expect(result.npy).toEqual({ dtype: 'int8', shape: [7, 10000], same: true });
  });

  it('is usable by keyboard, labelled, and fits a phone screen', async () => {
    await page.click('#load-sample');
    await settled(keyOf('conv1.weight'));
    for (const label of ['Scheme', 'Bitwidth, 2 to 16', 'Rounding', 'Granularity', 'Shape of a raw .bin']) {
      expect(await page.countByLabel(label), label).toBe(1);
    }
    // The drop zone is reachable and opens the file picker with Enter (the
    // click on the file input is caught before a dialog opens).
    await page.evaluate(() => {
      globalThis.pickerClicks = 0;
      document.getElementById('file').addEventListener(
        'click',
        (e) => {
          globalThis.pickerClicks += 1;
          e.preventDefault();
        },
        { once: true },
      );
    });
    await page.focus('#drop');
    await page.press('Enter');
    expect(await page.evaluate(() => globalThis.pickerClicks)).toBe(1);
    // Focus is visible.
    await page.focus('#scheme');
    await page.press('Tab');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    expect(outline).not.toBe('none');
    await page.selectOption('#axis', '0');
    await settled(keyOf('conv1.weight', { axis: 0 }));
    await shot('08-sample-per-channel');

    // Dark mode where the engine's driver can emulate it (not Firefox over BiDi).
    if (page.emulatesMedia) await page.emulateMedia({ colorScheme: 'dark', reducedMotion: 'reduce' });
    await page.selectOption('#axis', '');
    await settled(keyOf('conv1.weight'));
    if (page.emulatesMedia) {
      await page.sleep(100);
      await shot('09-dark');
      await page.emulateMedia({ colorScheme: 'light' });
    }

    await page.setViewport({ width: 390, height: 844 });
    await page.sleep(200);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await shot('10-phone');
    await page.setViewport({ width: 1440, height: 1000 });
  });

  it('fetched nothing from the network and logged no errors', () => {
    expect(outsideRequests(b.requests, b.origin)).toEqual([]);
    expect(b.requests.some((u) => u.endsWith('.wasm'))).toBe(true);
    expect(b.pageErrors).toEqual([]);
  });
});
