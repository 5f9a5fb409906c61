#!/usr/bin/env node
// `npm run bench`: runs bench/suite.js in Node, then the same suite in headless
// Chromium (a page served from this repo over a throwaway local HTTP server),
// and writes bench/RESULTS.md and bench/results.json.
//
//   node --expose-gc bench/run.js               full run (writes the files)
//   node --expose-gc bench/run.js --quick       4K..1M, fewer samples; prints only
//   node --expose-gc bench/run.js --no-browser  Node only; prints only
//   ... --write                                  write the files anyway
//   ... --repeats N                              the Node targets N times in all
//                                                (fresh processes; full runs: 3)
//   node --expose-gc bench/run.js --targets-child   (internal: one repeat)

import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import os from 'node:os';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as ort from 'onnxruntime-web';
import { createQuantizer } from '../web/index.js';
import { pageFaultProbe } from './probe.js';
import { renderMarkdown } from './report.js';
import { plan, runSuite } from './suite.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const CHROMIUM = '/usr/bin/chromium';

function parseArgs(argv) {
  const known = new Set(['--quick', '--no-browser', '--write', '--help', '--repeats', '--targets-child']);
  const at = argv.indexOf('--repeats');
  const repeats = at < 0 ? null : Number(argv[at + 1]);
  if (at >= 0 && !(Number.isInteger(repeats) && repeats >= 1)) {
    console.error(`bench: --repeats takes a whole number ≥ 1, got ${argv[at + 1]}`);
    process.exit(2);
  }
  for (const a of argv.filter((_, i) => at < 0 || i !== at + 1)) {
    if (!known.has(a)) {
      console.error(`bench: unknown argument ${a}; use ${[...known].join(' ')}`);
      process.exit(2);
    }
  }
  if (argv.includes('--help')) {
    console.log(
      readFileSync(fileURLToPath(import.meta.url), 'utf8')
        .split('\n')
        .slice(1, 13)
        .join('\n'),
    );
    process.exit(0);
  }
  const quick = argv.includes('--quick');
  const browser = !argv.includes('--no-browser');
  return {
    quick,
    browser,
    write: argv.includes('--write') || (!quick && browser),
    repeats: repeats ?? (quick ? 1 : 3),
    targetsChild: argv.includes('--targets-child'),
  };
}

const log = (text) => console.error(text);

// ---------------------------------------------------------------- snapshot

// The package's JavaScript and built modules as they were when the run
// started. Chromium is served this copy, so both environments measure the
// same build even if dist/ is rebuilt during the run (the kernels are being
// worked on in parallel); Node checks it loaded this build too.
const SNAPSHOT_DIRS = ['web', 'dist'];
// Subdirectories (web/formats/...) are included.
function takeSnapshot() {
  const files = new Map();
  const walk = (rel) => {
    for (const name of readdirSync(join(ROOT, rel))) {
      const file = join(ROOT, rel, name);
      const info = statSync(file);
      if (info.isDirectory()) walk(`${rel}/${name}`);
      else if (info.isFile()) files.set(`/${rel}/${name}`, readFileSync(file));
    }
  };
  for (const dir of SNAPSHOT_DIRS) walk(dir);
  return files;
}

function distHashes(files) {
  const hashes = {};
  for (const b of ['simd128', 'scalar']) {
    const hash = createHash('sha256');
    for (const ext of ['mjs', 'wasm']) {
      const path = `/dist/wasmquant-${b}.${ext}`;
      const bytes = files ? files.get(path) : readFileSync(join(ROOT, path.slice(1)));
      if (!bytes) throw new Error(`bench: ${path} is missing; run npm run build`);
      hash.update(bytes);
    }
    hashes[b] = hash.digest('hex').slice(0, 16);
  }
  return hashes;
}

// Jiffies from /proc/stat, to tell how busy all cores were during a phase:
// the benchmark alone keeps about one core busy (1/cores); more means other
// work competed with it.
function cpuTimes() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] ?? 0);
    return { idle, total: f.reduce((a, b) => a + b, 0) };
  } catch {
    return null;
  }
}

async function measureBusy(fn) {
  const before = cpuTimes();
  const result = await fn();
  const after = cpuTimes();
  const busy = before && after ? 1 - (after.idle - before.idle) / (after.total - before.total) : null;
  return [result, busy === null ? null : Math.round(busy * 100) / 100];
}

function loadAverage() {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
  } catch {
    return os.loadavg();
  }
}

// ---------------------------------------------------------------- machine

function sh(cmd, args) {
  try {
    return execFileSync(cmd, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

function machine(snapshot) {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  try {
    const m = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m);
    if (m) cpu = m[1].trim();
  } catch {
    // not Linux: keep os.cpus()'s name
  }
  const dirty = sh('git', ['status', '--porcelain', '--', 'src', 'web', 'bindings', 'CMakeLists.txt']);
  return {
    cpu,
    cores: os.availableParallelism?.() ?? os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    v8: process.versions.v8,
    onnxruntimeWeb: ort.env.versions.web,
    gitCommit: sh('git', ['rev-parse', '--short=12', 'HEAD']),
    gitDirtySources: dirty === null ? null : dirty.length > 0,
    distSha256: distHashes(snapshot), // of wasmquant-<backend>.mjs + .wasm
    pageFaults: pageFaultProbe(),
  };
}

function commandLine() {
  if (process.env.npm_lifecycle_event === 'bench') {
    const extra = process.argv.slice(2);
    return `npm run bench${extra.length ? ` -- ${extra.join(' ')}` : ''}`;
  }
  return ['node', ...process.execArgv, 'bench/run.js', ...process.argv.slice(2)].join(' ');
}

// ---------------------------------------------------------------- Node

async function runNode(p, expected) {
  log(`node ${process.version}: ${p.sizes.join(', ')} elements${globalThis.gc ? '' : ' (no --expose-gc: no gc between samples)'}`);
  return runSuite(
    {
      createQuantizer: async (options) => {
        const quantizer = await createQuantizer(options);
        if (JSON.stringify(distHashes()) !== JSON.stringify(expected)) {
          throw new Error('bench: dist/ changed while the modules were loading (a rebuild?); run again');
        }
        return quantizer;
      },
      ort,
      now: () => performance.now(),
      gc: typeof globalThis.gc === 'function' ? () => globalThis.gc() : undefined,
      log: (text) => log(`[node] ${text}`),
    },
    p,
  );
}

// ---------------------------------------------------------------- browser

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.map': 'application/json',
};

// Static files from the repo, GET only, nothing outside it. Cross-origin
// isolation headers give the page SharedArrayBuffer and a 5 µs clock, as Node has.
// web/ and dist/ come from the snapshot.
function startServer(snapshot) {
  const server = createServer(async (req, res) => {
    try {
      const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
      const file = resolve(ROOT, `.${path}`);
      if (req.method !== 'GET' || !(file === ROOT || file.startsWith(ROOT + sep))) {
        res.writeHead(req.method !== 'GET' ? 405 : 403).end();
        return;
      }
      const inSnapshot = SNAPSHOT_DIRS.some((dir) => path.startsWith(`/${dir}/`));
      let body = snapshot.get(path);
      if (!body) {
        if (inSnapshot || !(await stat(file)).isFile()) throw new Error('not found');
        body = await readFile(file);
      }
      res.writeHead(200, {
        'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
        'Cross-Origin-Opener-Policy': 'same-origin',
        'Cross-Origin-Embedder-Policy': 'require-corp',
        'Cache-Control': 'no-store',
      });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok(server));
  });
}

async function runBrowser(quick, snapshot) {
  const { chromium } = await import('playwright-core');
  const server = await startServer(snapshot);
  const profile = mkdtempSync(join(os.tmpdir(), 'wasmquant-bench-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--js-flags=--expose-gc',
      ],
    });
    const version = context.browser()?.version() ?? sh(CHROMIUM, ['--version']);
    log(`chromium ${version}`);
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(0);
    page.on('console', (m) => {
      if (m.type() === 'error' || m.text().startsWith('[chromium]')) log(m.text());
    });
    page.on('pageerror', (e) => log(`[chromium] page error: ${e.message}`));
    page.on('response', (r) => {
      if (r.status() >= 400) log(`[chromium] HTTP ${r.status()} for ${r.url()}`);
    });
    const { port } = server.address();
    await page.goto(`http://127.0.0.1:${port}/bench/page.html`);
    await page.waitForFunction(() => globalThis.benchReady === true, null, { timeout: 60_000 });
    const info = await page.evaluate(() => globalThis.benchInfo);
    log(`[chromium] crossOriginIsolated=${info.crossOriginIsolated} gc=${info.gc}`);
    const results = await page.evaluate((q) => globalThis.runBench({ quick: q }), quick);
    return { version, ...info, ...results };
  } finally {
    await context?.close();
    server.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- targets

// Evaluated on the Node results at 16M (the 4K one-call time at 4K). "e2e"
// is the plain wq.quantize(x) (Float32Array → new Uint8Array); "in wasm
// memory" is a caller-filled float32 WasmTensor in, a WasmTensor out.
const TARGETS = [
  { key: 'e2eVsOnnxruntime', op: '>=', threshold: 2.5, text: 'e2e ≥ 2.5× faster than onnxruntime-web e2e' },
  { key: 'e2eVsPlainJs', op: '>=', threshold: 4, text: 'e2e ≥ 4× faster than plain JS' },
  { key: 'e2ePerYardstick', op: '<=', threshold: 2.5, text: 'e2e ≤ 2.5× yardstick' },
  { key: 'memPerYardstick', op: '<=', threshold: 1.4, text: 'in wasm memory: calibrate+quantize ≤ 1.4× yardstick' },
  { key: 'memVsOnnxruntime', op: '>=', threshold: 4, text: 'in wasm memory: calibrate+quantize ≥ 4× faster than onnxruntime-web' },
  { key: 'memDequantizePerYardstick', op: '<=', threshold: 1.0, text: 'in wasm memory: dequantize ≤ 1.0× yardstick' },
  { key: 'analyzeMemPerYardstick', op: '<=', threshold: 1.5, text: 'in wasm memory: analyze ≤ 1.5× yardstick' },
  { key: 'simd128VsScalarMem', op: '>=', threshold: 4, text: 'in wasm memory: simd128 ≥ 4× scalar (calibrate+quantize)' },
  { key: 'e2eSingleCallUs', op: '<=', threshold: 20, n: 4096, text: 'one e2e call at 4K ≤ 20 µs' },
];

// Not targets: the e2e ratios again for quantize(x, { out }) into a caller's
// Uint8Array, next to the plain e2e row's (`as`), at the same size.
const INFO = [
  { key: 'e2eOutVsOnnxruntime', as: 'e2eVsOnnxruntime', text: 'speed-up vs onnxruntime-web e2e' },
  { key: 'e2eOutVsPlainJs', as: 'e2eVsPlainJs', text: 'speed-up vs plain JS' },
  { key: 'e2eOutPerYardstick', as: 'e2ePerYardstick', text: '/ yardstick' },
];

function targetSize(nodeResults) {
  const sizes = Object.keys(nodeResults.sizes).map(Number);
  return sizes.includes(1 << 24) ? 1 << 24 : Math.max(...sizes);
}

function evaluateTargets(nodeResults) {
  const targets = {};
  for (const t of TARGETS) {
    const n = t.n ?? targetSize(nodeResults);
    const value = nodeResults.sizes[n]?.ratios[t.key];
    const pass = value === undefined ? null : t.op === '>=' ? value >= t.threshold : value <= t.threshold;
    targets[t.key] = { pass, value, op: t.op, threshold: t.threshold, n, description: t.text };
    if (!t.n && n !== 1 << 24) targets[t.key].note = 'quick run: evaluated at the largest size, not 16M';
  }
  return targets;
}

function evaluateInfo(nodeResults) {
  const n = targetSize(nodeResults);
  const ratios = nodeResults.sizes[n]?.ratios ?? {};
  const info = {};
  for (const i of INFO) {
    info[i.key] = { value: ratios[i.key], plainE2e: ratios[i.as], plainE2eKey: i.as, n, description: i.text };
  }
  return info;
}

// ---------------------------------------------------------------- repeats

// The sizes the targets are read at, measured as in a full run.
function targetPlan() {
  const p = plan();
  const sizes = [4096, 1 << 24];
  return { ...p, sizes, samples: Object.fromEntries(sizes.map((n) => [n, p.samples[n]])) };
}

// What one repeat reports: the target values and what moves them most (the
// copy the ratios divide by, onnxruntime-web's time, fresh memory's cost).
function repeatOf(node, pageFaults) {
  const targets = evaluateTargets(node);
  return {
    values: Object.fromEntries(Object.entries(targets).map(([key, t]) => [key, t.value])),
    yardstickMs: node.sizes[1 << 24]?.timesMs.yardstick ?? null,
    onnxruntimeMs: node.sizes[1 << 24]?.timesMs.onnxruntime ?? null,
    freshMs: pageFaults.freshMs,
  };
}

async function targetsChild() {
  const pageFaults = pageFaultProbe();
  const node = await runNode(targetPlan(), distHashes());
  process.stdout.write(JSON.stringify(repeatOf(node, pageFaults)));
}

// Further repeats of the Node targets, each in a fresh process (its own
// heap, its own first touches), one after the other.
function moreRepeats(count) {
  const runs = [];
  for (let i = 0; i < count; i += 1) {
    log(`repeat ${i + 2} of the Node targets (a fresh process)`);
    const out = execFileSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--targets-child'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 20,
    });
    runs.push(JSON.parse(out));
  }
  return runs;
}

// ---------------------------------------------------------------- main

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.targetsChild) return targetsChild();
  const started = performance.now();
  const snapshot = takeSnapshot();
  const loadAtStart = loadAverage();
  const [node, nodeBusy] = await measureBusy(() => runNode(plan({ quick: args.quick }), distHashes(snapshot)));
  node.cpuBusy = nodeBusy;
  const machineInfo = machine(snapshot);
  const repeats = args.repeats > 1 ? [repeatOf(node, machineInfo.pageFaults), ...moreRepeats(args.repeats - 1)] : null;
  let chromium = null;
  if (args.browser) {
    let busy;
    [chromium, busy] = await measureBusy(() => runBrowser(args.quick, snapshot));
    chromium.cpuBusy = busy;
  }
  const alone = 1 / (os.availableParallelism?.() ?? os.cpus().length);
  for (const [name, r] of [
    ['node', node],
    ['chromium', chromium],
  ]) {
    if (r?.cpuBusy > alone + 0.15) {
      log(
        `warning: all cores were ${Math.round(r.cpuBusy * 100)}% busy during the ${name} run (this benchmark alone: ~${Math.round(alone * 100)}%); other work skewed the numbers`,
      );
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const loadAtEnd = loadAverage();
  if (JSON.stringify(distHashes()) !== JSON.stringify(distHashes(snapshot))) {
    log('note: dist/ was rebuilt during the run; both environments used the build from its start');
  }
  const webNow = takeSnapshot();
  const webChanged = [...new Set([...snapshot.keys(), ...webNow.keys()])].filter(
    (path) => path.startsWith('/web/') && !snapshot.get(path)?.equals(webNow.get(path) ?? Buffer.alloc(0)),
  );
  if (webChanged.length) {
    log(`note: web/ changed during the run (${webChanged.join(', ')}); Chromium used the files from its start`);
  }

  const results = {
    date: new Date().toISOString(),
    command: commandLine(),
    quick: args.quick,
    durationSeconds: Math.round(seconds * 10) / 10,
    machine: { ...machineInfo, chromium: chromium?.version ?? null, loadAverage: { start: loadAtStart, end: loadAtEnd } },
    targets: evaluateTargets(node),
    repeats,
    outRowInfo: evaluateInfo(node),
    node,
    chromium,
  };
  const markdown = renderMarkdown(results);
  if (args.write) {
    writeFileSync(join(HERE, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(join(HERE, 'RESULTS.md'), markdown);
    log(`wrote bench/RESULTS.md and bench/results.json (${seconds.toFixed(1)} s)`);
  } else {
    process.stdout.write(markdown);
    log(`done in ${seconds.toFixed(1)} s (files not written; a full run or --write writes them)`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
