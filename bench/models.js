#!/usr/bin/env node
// Model throughput (part of `npm run bench`): parse + quantize + write of a
// generated ≥ 100 MB ONNX model (transformer-like: MatMul weights and an
// embedding table), in Node and in headless Chromium, against the yardstick
// of reading and writing the same bytes; peak memory in Node.
//
//   node --expose-gc bench/models.js            full run; rewrites the "Models" section of bench/RESULTS.md
//   node --expose-gc bench/models.js --no-write prints only
//   node bench/models.js --child <variant> <model path>   (internal: one measured run)

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import os from 'node:os';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { create, toBinary } from '@bufbuild/protobuf';
import { describePageFaults, pageFaultProbe } from './probe.js';
import { writeSection } from './sections.js';
import { GraphProtoSchema, ModelProtoSchema, NodeProtoSchema, OperatorSetIdProtoSchema, TensorProtoSchema } from '../web/models/onnx/onnx_pb.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const LAYERS = 26;
const WIDTH = 1024;
const VOCAB = 4096;
const REPEATS = 3;
const VARIANTS = {
  qdq: {},
  'qdq-4bit-blocks': { bitwidth: 4, blockSize: 32 },
  matmulnbits: { format: 'matmulnbits' },
};

// Weights that look trained: normal-ish, a few outliers; cheap to make.
function weights(count, seed) {
  const x = new Float32Array(count);
  let s = seed >>> 0;
  for (let i = 0; i < count; i += 1) {
    s = (s * 1664525 + 1013904223) >>> 0;
    const u = s / 2 ** 32;
    x[i] = (u - 0.5) * 0.1 * (i % 211 === 0 ? 8 : 1);
  }
  return x;
}

function tensor(name, dims, data) {
  return create(TensorProtoSchema, { name, dims: dims.map(BigInt), dataType: 1, rawData: new Uint8Array(data.buffer) });
}

const nodeOf = (opType, input, output) => create(NodeProtoSchema, { opType, input, output, name: output[0] });

// ids → Gather(embedding) → LAYERS × MatMul.
function makeModel() {
  const nodes = [nodeOf('Gather', ['embedding', 'ids'], ['h0'])];
  const initializer = [tensor('embedding', [VOCAB, WIDTH], weights(VOCAB * WIDTH, 99))];
  for (let l = 0; l < LAYERS; l += 1) {
    nodes.push(nodeOf('MatMul', [`h${l}`, `layer${l}.weight`], [`h${l + 1}`]));
    initializer.push(tensor(`layer${l}.weight`, [WIDTH, WIDTH], weights(WIDTH * WIDTH, l + 1)));
  }
  const graph = create(GraphProtoSchema, { name: 'bench', node: nodes, initializer });
  return toBinary(
    ModelProtoSchema,
    create(ModelProtoSchema, { irVersion: 8n, graph, opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 17n })] }),
  );
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// ---------------------------------------------------------------- Node

// One measured run in a fresh process, so that its peak RSS is its own.
async function child(variant, modelPath) {
  const out = mkdtempSync(join(os.tmpdir(), 'wasmquant-bench-out-'));
  try {
    const { createQuantizer } = await import('../web/index.js');
    const { quantizeModel } = await import('../web/models/index.js');
    const quantizer = await createQuantizer();
    global.gc?.();
    const baseline = process.memoryUsage().rss;
    const t0 = performance.now();
    const bytes = readFileSync(modelPath); // one allocation of the file's size
    let written = 0;
    if (variant === 'yardstick') {
      await writeFile(join(out, 'model.onnx'), bytes);
      written = bytes.length;
    } else {
      const result = await quantizeModel({ 'model.onnx': bytes }, { quantizer, ...VARIANTS[variant] });
      for (const [name, data] of Object.entries(result.files)) {
        await writeFile(join(out, name), data);
        written += data.length;
      }
    }
    const ms = performance.now() - t0;
    // VmHWM, not getrusage's maxrss: Linux carries maxrss over exec from
    // the parent, whose model copy would count here.
    const peak = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
    process.stdout.write(JSON.stringify({ ms, written, peakBytes: peak, baselineBytes: baseline }));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

function runChild(variant, modelPath) {
  const out = execFileSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--child', variant, modelPath], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  return JSON.parse(out);
}

function benchNode(modelPath, size) {
  const rows = {};
  for (const variant of ['yardstick', ...Object.keys(VARIANTS)]) {
    const runs = Array.from({ length: REPEATS }, () => runChild(variant, modelPath));
    rows[variant] = {
      ms: median(runs.map((r) => r.ms)),
      spread: [Math.min(...runs.map((r) => r.ms)), Math.max(...runs.map((r) => r.ms))],
      written: runs[0].written,
      peakOverModel: median(runs.map((r) => (r.peakBytes - r.baselineBytes) / size)),
    };
    console.error(`node ${variant}: ${rows[variant].ms.toFixed(0)} ms`);
  }
  return rows;
}

// ---------------------------------------------------------------- Chromium

const TYPES = {
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.html': 'text/html',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
};

function serve(modelBytes) {
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://127.0.0.1').pathname);
    if (path === '/model.onnx') {
      res.writeHead(200, { 'content-type': TYPES['.onnx'] }).end(modelBytes);
      return;
    }
    const file = resolve(ROOT, `.${path}`);
    if (!file.startsWith(ROOT + sep)) {
      res.writeHead(403).end();
      return;
    }
    let body;
    try {
      body = await readFile(file);
    } catch {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server)));
}

async function benchChromium(modelBytes) {
  const { chromium } = await import('playwright-core');
  const server = await serve(modelBytes);
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${server.address().port}/bench/models-page.html`);
    await page.waitForFunction(() => window.benchReady === true, null, { timeout: 60_000 });
    const rows = {};
    for (const variant of ['yardstick', ...Object.keys(VARIANTS)]) {
      const times = [];
      for (let r = 0; r < REPEATS; r += 1) {
        times.push(await page.evaluate(([v, o]) => window.runBench(v, o), [variant, VARIANTS[variant] ?? null]));
      }
      rows[variant] = { ms: median(times), spread: [Math.min(...times), Math.max(...times)] };
      console.error(`chromium ${variant}: ${rows[variant].ms.toFixed(0)} ms`);
    }
    return { rows, version: browser.version() };
  } finally {
    await browser.close();
    server.close();
  }
}

// ---------------------------------------------------------------- report

function section({ size, node, chromium, command, pageFaults }) {
  const mb = (b) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  const line = (env, rows, variant) => {
    const r = rows[variant];
    const ratio = (r.ms / rows.yardstick.ms).toFixed(2);
    const peak = r.peakOverModel === undefined ? '' : ` | ${r.peakOverModel.toFixed(2)}×`;
    return `| ${env} | ${variant} | ${r.ms.toFixed(0)} (${r.spread.map((x) => x.toFixed(0)).join('–')}) | ${variant === 'yardstick' ? '1.00' : ratio}×${r.peakOverModel === undefined ? ' | —' : peak} |`;
  };
  return [
    '## Models',
    '',
    `\`${command}\` on ${os.cpus()[0]?.model ?? 'this machine'} (${os.cpus().length} cores), Node ${process.versions.node}, ${chromium ? `Chromium ${chromium.version}` : 'no Chromium'}.`,
    `A generated ONNX model of ${mb(size)}: an embedding table [${VOCAB}, ${WIDTH}] read by Gather and ${LAYERS} MatMul weights [${WIDTH}, ${WIDTH}].`,
    `Memory at the start: ${describePageFaults(pageFaults)}.`,
    "Each time is from the bytes of the file to the bytes of the output files: read (Node: `fs.readFileSync`; Chromium: `fetch` from a local server) → parse + quantize + write (`quantizeModel`) → write (Node: `fs.writeFile` of every output file; Chromium: a `Blob` of them). The yardstick reads and writes the same model bytes without touching them. Median of 3 runs (min–max); Node runs each in a fresh process, and peak memory is its peak RSS above the process's RSS before reading, over the model size.",
    '',
    '| where | variant | ms (spread) | / yardstick | peak memory / model |',
    '|---|---|---|---|---|',
    ...['yardstick', ...Object.keys(VARIANTS)].map((v) => line('Node', node, v)),
    ...(chromium ? ['yardstick', ...Object.keys(VARIANTS)].map((v) => line('Chromium', chromium.rows, v)) : []),
    '',
    `Output sizes: ${Object.keys(VARIANTS)
      .map((v) => `${v} ${mb(node[v].written)} (${((100 * node[v].written) / size).toFixed(1)} %)`)
      .join(', ')}.`,
    '',
  ].join('\n');
}

async function main(argv) {
  if (argv[0] === '--child') return child(argv[1], argv[2]);
  const dir = mkdtempSync(join(os.tmpdir(), 'wasmquant-bench-model-'));
  try {
    const pageFaults = pageFaultProbe();
    const bytes = makeModel();
    const modelPath = join(dir, 'model.onnx');
    writeFileSync(modelPath, bytes);
    console.error(`model: ${(bytes.length / 2 ** 20).toFixed(1)} MiB`);
    const node = benchNode(modelPath, bytes.length);
    const chromium = argv.includes('--no-browser') ? null : await benchChromium(bytes);
    const text = section({ size: bytes.length, node, chromium, pageFaults, command: 'node --expose-gc bench/models.js' });
    if (argv.includes('--no-write') || argv.includes('--no-browser')) console.log(text);
    else writeSection('Models', text);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main(process.argv.slice(2));
