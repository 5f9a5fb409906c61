// The package as a bundler user gets it: `npm pack` of the repository (the
// prebuilt dist/, no rebuild), installed from the tarball into a temp app,
// the fixture apps of tests/consumers/ built with Vite (dev server, and build
// + preview), esbuild and webpack 5, and each page run in Debian's Chromium
// (playwright-core); the Vite build and the package's files without a bundler
// also in Debian's Firefox ESR (puppeteer-core over WebDriver BiDi). Every page
// runs common/probe.js: both backends on the page and in a module Worker; the
// numbers are checked here against the SPEC's worked example and against the
// algorithm of docs/spec.md §2 computed in plain JS.
//   npx vitest run --config tests/consumers/vitest.config.js
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import puppeteer from 'puppeteer-core';
import { CHROMIUM_LAUNCH } from '../e2e/driver-chromium.js';
import { FIREFOX_LAUNCH } from '../e2e/driver-firefox.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveStatic } from './serve.js';

const repo = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const here = join(repo, 'tests', 'consumers');
const PAGE_TIMEOUT = 60_000;

// ---- what the pages must report, computed independently of the library ----

const INPUTS = { spec: [-1.8, -1.0, 0, 0.5], mixed: [-1, 0, 0.5, 1.2] };

// docs/spec.md §2, 8-bit tf, in doubles: range widened to hold 0, scale =
// (max - min) / 255, integer zero point, min/max shifted onto the grid;
// q = clamp(floor(x / scale + 0.5) + z, 0, 255), back as (q + offset) · scale.
function reference(values) {
  const x = values.map(Math.fround);
  const lo = Math.min(0, ...x);
  const hi = Math.max(0, ...x);
  expect(hi - lo).toBeGreaterThan(0.01); // no minRange widening in these inputs
  const scale = (hi - lo) / 255;
  const z = Math.round(-lo / scale);
  const offset = -z;
  const codes = x.map((v) => Math.min(255, Math.max(0, Math.floor(v / scale + 0.5) + z)));
  const dequantized = codes.map((q) => Math.fround((q + offset) * scale));
  const errors = x.map((v, i) => v - dequantized[i]);
  return {
    encoding: { bitwidth: 8, scale, offset, min: offset * scale, max: (offset + 255) * scale },
    codes,
    dequantized,
    mse: errors.reduce((s, e) => s + e * e, 0) / x.length,
    maxAbsError: Math.max(...errors.map(Math.abs)),
  };
}

const near = (actual, expected, rel, what) =>
  expect(Math.abs(actual - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(rel * Math.abs(expected) + 1e-12);

function expectEncoding(actual, expected, what) {
  expect(actual.bitwidth, what).toBe(8);
  expect(actual.offset, what).toBe(expected.offset);
  expect(actual.isSymmetric, what).toBe(false);
  for (const k of ['scale', 'min', 'max']) near(actual[k], expected[k], 1e-6, `${what} ${k}`);
}

function checkProbe(report, where) {
  expect(report, `${where}: the page reported nothing`).toBeTruthy();
  expect(report.error, where).toBeUndefined();
  expect(report.ok, where).toBe(true);
  const { page, worker } = report.result;
  for (const backend of ['simd128', 'scalar']) {
    const got = page[backend];
    expect(got.backend, where).toBe(backend);
    for (const [name, values] of Object.entries(INPUTS)) {
      const ref = reference(values);
      const what = `${where} page ${backend} ${name}`;
      expect(got[name].codesType, what).toBe('Uint8Array');
      expect(got[name].codes, what).toEqual(ref.codes);
      expectEncoding(got[name].encoding, ref.encoding, what);
      got[name].dequantized.forEach((v, i) => near(v, ref.dequantized[i], 1e-6, `${what} dequantized[${i}]`));
      expect(got[name].dequantized[values.indexOf(0)], what).toBe(0); // 0.0 comes back exactly
      expect(got[name].report.count, what).toBe(values.length);
      expect(got[name].report.clipped, what).toBe(0);
      // the library's x̂ is float32 arithmetic; one ulp of x̂ moves these by ~1e-4 relative
      near(got[name].report.mse, ref.mse, 1e-3, `${what} mse`);
      near(got[name].report.maxAbsError, ref.maxAbsError, 1e-3, `${what} maxAbsError`);
    }
    // docs/spec.md §2.1, as printed there
    expect(page[backend].spec.codes).toEqual([0, 89, 200, 255]);
    expect(page[backend].spec.encoding.offset).toBe(-200);
    near(page[backend].spec.encoding.scale, 0.009019607843137253, 1e-6, 'spec scale');

    const ref = reference(INPUTS.mixed);
    expect(worker[backend].backend, `${where} worker`).toBe(backend);
    expect(worker[backend].codes, `${where} worker ${backend}`).toEqual(ref.codes);
    expectEncoding(worker[backend].encoding, ref.encoding, `${where} worker ${backend}`);
  }
  // and the hand-derived codes of [-1, 0, 0.5, 1.2]: scale 2.2/255, z = 116
  expect(page.scalar.mixed.codes).toEqual([0, 116, 174, 255]);
}

// ---- browsers ----

let chromiumBrowser;
async function inChromium(url) {
  chromiumBrowser ??= await chromium.launch({ ...CHROMIUM_LAUNCH, timeout: 30_000 });
  return readProbe(await chromiumBrowser.newPage(), url, (page) => page.waitForFunction(() => window.__wasmquant, null, { timeout: PAGE_TIMEOUT }));
}

let firefoxBrowser;
async function inFirefox(url) {
  firefoxBrowser ??= await puppeteer.launch(FIREFOX_LAUNCH);
  return readProbe(await firefoxBrowser.newPage(), url, (page) => page.waitForFunction(() => window.__wasmquant, { timeout: PAGE_TIMEOUT }));
}

// The probe's report from a page of either browser (Playwright and
// Puppeteer pages share these calls; their waitForFunction signatures differ).
async function readProbe(page, url, waitForReport) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  try {
    await page.goto(url, { timeout: PAGE_TIMEOUT });
    await waitForReport(page).catch((e) => {
      throw new Error(`${url}: no result within ${PAGE_TIMEOUT} ms (${e.message}); page errors: ${errors.join(' | ') || 'none'}`);
    });
    return { report: await page.evaluate(() => window.__wasmquant), errors };
  } finally {
    await page.close();
  }
}

// ---- the temp app: the tarball installed, the fixtures copied ----

function childEnv() {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('npm_') || key.startsWith('VITEST') || key === 'NODE_OPTIONS') continue;
    env[key] = value;
  }
  return { ...env, NODE_ENV: 'production' };
}

const run = (command, args, cwd) =>
  execFileSync(command, args, { cwd, env: childEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 16 << 20 });

let tmp;
let app;
const servers = [];
const serve = async (root) => {
  const s = await serveStatic(root);
  servers.push(s);
  return s.origin;
};

beforeAll(() => {
  for (const f of ['wasmquant-simd128.wasm', 'wasmquant-scalar.wasm', 'wasmquant-simd128.mjs', 'wasmquant-scalar.mjs']) {
    if (!existsSync(join(repo, 'dist', f))) throw new Error(`dist/${f} is missing: run npm run build first`);
  }
  tmp = mkdtempSync(join(tmpdir(), 'wasmquant-consumers-'));
  // the prebuilt dist/ goes in as it is (prepack would rebuild it)
  run('npm', ['pack', '--ignore-scripts', '--pack-destination', tmp, '--silent'], repo);
  const tgz = readdirSync(tmp).find((f) => f.endsWith('.tgz'));
  app = join(tmp, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer-app', private: true, type: 'module' }));
  // the package's own dependencies come from npm's cache, which `npm ci` filled
  run('npm', ['install', join(tmp, tgz), '--no-audit', '--no-fund', '--prefer-offline'], app);
  // the bundlers as the app's devDependencies would be: the repository's copies
  for (const tool of ['vite', 'webpack', 'webpack-cli', 'esbuild']) {
    symlinkSync(join(repo, 'node_modules', tool), join(app, 'node_modules', tool), 'dir');
  }
  for (const name of ['vite', 'esbuild', 'webpack']) {
    cpSync(join(here, name), join(app, name), { recursive: true });
    copyFileSync(join(here, 'common', 'probe.js'), join(app, name, 'probe.js'));
  }
});

afterAll(async () => {
  await chromiumBrowser?.close();
  await firefoxBrowser?.close();
  for (const s of servers) s.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('Vite', () => {
  let vite;
  beforeAll(async () => {
    vite = await import('vite');
  });

  it('dev server: the page and its module worker import wasmquant by name', async () => {
    const server = await vite.createServer({
      root: join(app, 'vite'),
      configFile: join(app, 'vite', 'vite.config.js'),
      server: { host: '127.0.0.1', port: 0, strictPort: false },
    });
    await server.listen();
    try {
      const url = server.resolvedUrls.local[0];
      const { report } = await inChromium(url);
      checkProbe(report, 'vite dev, Chromium');
    } finally {
      await server.close();
    }
  });

  let previewUrl;
  it('vite build + vite preview', async () => {
    const outDir = join(tmp, 'vite-dist');
    await vite.build({ root: join(app, 'vite'), configFile: join(app, 'vite', 'vite.config.js'), build: { outDir, emptyOutDir: true } });
    const assets = readdirSync(join(outDir, 'assets'));
    expect(assets.filter((f) => f.endsWith('.wasm')).length, assets.join(' ')).toBe(2);
    const server = await vite.preview({
      root: join(app, 'vite'),
      configFile: join(app, 'vite', 'vite.config.js'),
      build: { outDir },
      preview: { host: '127.0.0.1', port: 0, strictPort: false },
    });
    servers.push({ close: () => server.close() });
    previewUrl = server.resolvedUrls.local[0];
    const { report } = await inChromium(previewUrl);
    checkProbe(report, 'vite preview, Chromium');
  });

  it('the same Vite build in Firefox ESR', async () => {
    expect(previewUrl, 'the build step failed').toBeTruthy();
    const { report } = await inFirefox(previewUrl);
    checkProbe(report, 'vite preview, Firefox');
  });
});

describe('esbuild', () => {
  it('--bundle --platform=browser --format=esm, the .wasm copied beside the bundle', async () => {
    const dir = join(app, 'esbuild');
    run(
      join(app, 'node_modules', 'esbuild', 'bin', 'esbuild'),
      ['main.js', 'worker.js', '--bundle', '--platform=browser', '--format=esm', '--outdir=out', '--log-level=warning'],
      dir,
    );
    // what the package exports for this: wasmquant/wasm/{simd128,scalar}.wasm
    const require = createRequire(join(app, 'package.json'));
    for (const backend of ['simd128', 'scalar']) {
      copyFileSync(require.resolve(`wasmquant/wasm/${backend}.wasm`), join(dir, 'out', `wasmquant-${backend}.wasm`));
    }
    const { report } = await inChromium(`${await serve(dir)}/`);
    checkProbe(report, 'esbuild, Chromium');
  });
});

describe('webpack 5', () => {
  it('production build: the .wasm files and the Emscripten glue become assets and chunks', async () => {
    const out = join(tmp, 'webpack-dist');
    run(
      process.execPath,
      [join(app, 'node_modules', 'webpack-cli', 'bin', 'cli.js'), '--config', 'webpack.config.js', '--env', `out=${out}`, '--no-color'],
      join(app, 'webpack'),
    );
    const files = readdirSync(out);
    expect(files.filter((f) => f.endsWith('.wasm')).length, files.join(' ')).toBe(2);
    copyFileSync(join(app, 'webpack', 'index.html'), join(out, 'index.html'));
    const { report } = await inChromium(`${await serve(out)}/`);
    checkProbe(report, 'webpack, Chromium');
  });
});

describe('no bundler, Firefox ESR', () => {
  it('web/index.js and web/worker.js straight from the repository', async () => {
    const origin = await serve(repo);
    const { report } = await inFirefox(`${origin}/tests/consumers/direct/index.html`);
    checkProbe(report, 'no bundler, Firefox');
  });
});
