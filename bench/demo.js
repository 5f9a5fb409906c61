#!/usr/bin/env node
// The demo on a big file (part of `npm run bench`): a 200 MB float32 .bin
// handed to the page's file input in headless Chromium; the times from the
// end of reading the bytes to the first result on the page and to the whole
// comparison grid (every scheme × 4, 8, 16 bits).
//
//   node bench/demo.js              rewrites the "Demo" section of bench/RESULTS.md
//   node bench/demo.js --no-write   prints only

import { linkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { openBrowser } from '../tests/e2e/browser.js';
import { writeSection } from './sections.js';

const MB = 200;
const REPEATS = 3;

// Weights that look trained: normal-ish, a few outliers; cheap to make.
function weights(count) {
  const x = new Float32Array(count);
  let s = 12345;
  for (let i = 0; i < count; i += 1) {
    s = (s * 1664525 + 1013904223) >>> 0;
    x[i] = (s / 2 ** 32 - 0.5) * 0.1 * (i % 211 === 0 ? 8 : 1);
  }
  return x;
}

// Page-side: timestamps of the end of reading (the progress label moves on
// from "Reading"), of the first result and of the comparison grid (the page
// says it is ready once that is drawn).
function watch(fileName) {
  const marks = {};
  globalThis.demoMarks = marks;
  const label = document.getElementById('progress-label');
  const results = document.getElementById('results');
  const mark = () => {
    const now = performance.now();
    if (marks.read === undefined && /^Parsing/.test(label.textContent)) marks.read = now;
    if (marks.first === undefined && results.dataset.key?.startsWith(fileName)) marks.first = now;
    // The page is ready again once the grid of this tensor is drawn.
    if (marks.first !== undefined && marks.grid === undefined && document.body.dataset.status === 'ready') {
      marks.grid = now;
    }
  };
  new MutationObserver(mark).observe(document.body, { attributes: true, subtree: true, childList: true, characterData: true });
}

async function once(page, path, run) {
  await page.reload();
  await page.waitForFunction(() => document.body.dataset.status === 'ready', null, { timeout: 60_000 });
  const name = `big${run}`;
  await page.evaluate(watch, name);
  // A new name per run, so that the page's result key tells this run's apart.
  const named = join(dirname(path), `${name}.bin`);
  linkSync(path, named);
  await page.setInputFiles('#file', named);
  await page.waitForFunction(() => globalThis.demoMarks.grid !== undefined, null, { timeout: 120_000 });
  const m = await page.evaluate(() => globalThis.demoMarks);
  return { first: m.first - m.read, grid: m.grid - m.read };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(argv) {
  const browser = await openBrowser('chromium');
  try {
    const path = join(browser.tmp, 'big.bin');
    writeFileSync(path, weights((MB << 20) / 4));
    await browser.page.goto(`${browser.origin}/`);
    const runs = [];
    for (let r = 0; r < REPEATS; r += 1) runs.push(await once(browser.page, path, r));
    const first = median(runs.map((r) => r.first));
    const grid = median(runs.map((r) => r.grid));
    const spread = (key) => runs.map((r) => (r[key] / 1000).toFixed(2)).join(', ');
    const text = [
      '## Demo',
      '',
      `Command: \`node bench/demo.js\`. A ${MB} MB float32 \`.bin\` (1-D, weights-like data) given to the demo's file input in headless Chromium; times from the end of reading the bytes (the progress moving on to parsing) to the first result shown (report, histograms) and to the whole comparison grid (4 schemes × 4, 8, 16 bits, one \`analyzeMany\`). Median of ${REPEATS} page loads.`,
      '',
      '| | seconds (runs) | goal | holds |',
      '| --- | --- | --- | --- |',
      `| first result | ${(first / 1000).toFixed(2)} (${spread('first')}) | ≤ 2 | ${first <= 2000 ? 'yes' : '**no**'} |`,
      `| whole grid | ${(grid / 1000).toFixed(2)} (${spread('grid')}) | ≤ 5 | ${grid <= 5000 ? 'yes' : '**no**'} |`,
      '',
    ].join('\n');
    if (argv.includes('--no-write')) {
      console.log(text);
    } else {
      writeSection('Demo', text);
      console.log(text);
    }
  } finally {
    await browser.close();
  }
}

await main(process.argv.slice(2));
