// The models panel's test helpers: what a person does on the page (pick,
// drop, choose an option, download, run the check) and what it shows, read
// from the data-* attributes the panel keeps unrounded.
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { inspectModel } from '../../web/models/index.js';
import { openBrowser } from './browser.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const require = createRequire(import.meta.url);
export const SLOW = 120_000; // two shared cores: the det model runs twice in wasm

let page;
let shots;

/**
 * openBrowser(name) on the demo, ready; its page becomes the one the helpers
 * use, and test-results/e2e/<name> the folder for their screenshots.
 * → openBrowser's result.
 */
export async function openDemo(name) {
  shots = join(ROOT, 'test-results/e2e', name);
  mkdirSync(shots, { recursive: true });
  const b = await openBrowser(name);
  page = b.page;
  await b.page.goto(`${b.origin}/demo/`);
  await b.page.waitForFunction(() => document.body.dataset.status === 'ready' && document.getElementById('results').dataset.key);
  return b;
}

export const read = (path) => new Uint8Array(readFileSync(join(ROOT, path)));

// nsfwjs ships its model.json and shards as UMD modules (the JSON object,
// each shard a base64 string), as tests/js/models/tfjs.test.js reads them.
export function nsfwModel(name) {
  const dir = `../../node_modules/nsfwjs/dist/models/${name}`;
  const json = require(`${dir}/model.min.js`);
  const files = { 'model.json': new TextEncoder().encode(JSON.stringify(json)) };
  for (const group of json.weightsManifest) {
    for (const path of group.paths) files[path] = new Uint8Array(Buffer.from(require(`${dir}/${path}.min.js`), 'base64'));
  }
  return files;
}

export const shot = (name) => page.shot(join(shots, `models-${name}.png`), { maxHeight: 4000 });

// Waits until the panel shows an inspection (or an error) and is idle; → the options it used.
export async function inspected(timeout = 60_000) {
  await page.waitForFunction(
    () => {
      const m = document.getElementById('models');
      return !m.hidden && m.dataset.status === 'ready' && document.body.dataset.status === 'ready';
    },
    null,
    { timeout },
  );
  const shown = await page.evaluate(() => ({
    options: document.getElementById('models').dataset.options,
    error: document.getElementById('models-error').hidden ? null : document.getElementById('models-error').textContent,
    ms: Number(document.getElementById('models').dataset.ms),
  }));
  return { ...shown, options: shown.options ? JSON.parse(shown.options) : null };
}

// Sets a control and waits for the re-inspection.
export async function choose(id, value) {
  await page.evaluate(() => {
    document.getElementById('models').dataset.status = 'changing';
  });
  if (id === 'm-block-size' || id === 'm-min-elements') await page.fill(`#${id}`, value);
  else await page.selectOption(`#${id}`, value);
  await page.dispatchEvent(`#${id}`, 'change');
  return inspected();
}

export async function tableRows() {
  return page.$$eval('#m-table tbody tr', (trs) =>
    trs.map((tr) => {
      const sqnr = tr.querySelector('[data-key="sqnr"]').dataset.value;
      const bytes = tr.querySelector('[data-key="bytes"]').dataset;
      return {
        name: tr.dataset.name,
        action: tr.dataset.action,
        sqnrDb: sqnr === '' ? null : Number(sqnr),
        bytesBefore: Number(bytes.before),
        bytesAfter: Number(bytes.after),
      };
    }),
  );
}

export function expectClose(actual, expected, what) {
  if (expected === Infinity || expected === null) {
    expect(actual, what).toBe(expected);
    return;
  }
  expect(Math.abs(actual - expected), `${what}: page ${actual}, API ${expected}`).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(expected)));
}

// The page's table is the Node API's inspection: same rows, same SQNRs.
export async function expectTableMatches(files, options) {
  const api = await inspectModel(files, options);
  const rows = await tableRows();
  // The page lists the quantized weights first, each group in model order.
  const expected = [...api.tensors.filter((t) => t.action === 'quantize'), ...api.tensors.filter((t) => t.action !== 'quantize')];
  expect(rows.map((r) => r.name)).toEqual(expected.map((t) => t.name));
  expected.forEach((t, i) => {
    expect(rows[i].action, t.name).toBe(t.action);
    expect(rows[i].bytesAfter, t.name).toBe(t.bytesAfter);
    // The same codes; 10·log10 of the same ratio may differ in the last bit between V8 builds.
    if (t.action === 'quantize') expectClose(rows[i].sqnrDb, t.sqnrDb, t.name);
  });
  return api;
}

export const pick = (files) =>
  page.setInputFiles(
    '#file',
    Object.entries(files).map(([name, bytes]) => ({ name, bytes })),
  );

// Drops files on the drop zone as a person would (a real DataTransfer).
export async function drop(files) {
  const list = Object.entries(files).map(([name, bytes]) => ({ name, data: Buffer.from(bytes).toString('base64') }));
  await page.evaluate((items) => {
    const transfer = new DataTransfer();
    for (const { name, data } of items) transfer.items.add(new File([Uint8Array.from(atob(data), (c) => c.charCodeAt(0))], name));
    const zone = document.getElementById('drop');
    for (const type of ['dragenter', 'dragover', 'drop'])
      zone.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, list);
}

// Clicks and collects `count` downloads → { name: Uint8Array }.
export const downloads = (selector, count = 1) => page.downloads(selector, count);

export async function runCheck(timeout = SLOW) {
  await page.click('#m-check-run');
  await page.waitForFunction(() => document.getElementById('m-check').dataset.status === 'ready', null, { timeout });
  return page.evaluate(() => ({
    error: document.getElementById('m-check-error').hidden ? null : document.getElementById('m-check-error').textContent,
    input: document.getElementById('m-check-input').textContent,
    outputs: [...document.querySelectorAll('#m-check-table tbody tr')].map((tr) => ({
      name: tr.dataset.name,
      maxAbs: Number(tr.dataset.maxAbs),
      cosine: Number(tr.dataset.cosine),
    })),
  }));
}
