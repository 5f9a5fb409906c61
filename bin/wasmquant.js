#!/usr/bin/env node
// The wasmquant command line: inspect or quantize an ONNX model, a TF.js
// model.json, an .npy or a .safetensors file. Exit codes: 0 done, 1 bad
// input (one "wasmquant: " line on stderr), 2 usage error (help + reason).
import fs from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import cliProgress from 'cli-progress';
import { createQuantizer } from '../web/index.js';
import { inspectModel, quantizeModel } from '../web/models/index.js';
import { formatReport, humanBytes } from './cli/table.js';
import { isTensorFile, processTensorFile } from './cli/tensor-files.js';

const { version } = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const PROGRESS_MIN_BYTES = 8 * 1024 * 1024;

// Bad input: reported as one line and exit code 1, unlike usage errors.
class InputError extends Error {}

function integer(min, max, what) {
  return (value) => {
    const n = Number(value);
    if (!/^\s*\d+\s*$/.test(value) || n < min || n > max) {
      throw new InvalidArgumentError(
        max === Infinity ? `${what} must be an integer >= ${min}.` : `${what} must be an integer from ${min} to ${max}.`,
      );
    }
    return n;
  };
}

const collect = (value, previous = []) => [...previous, value];

function addQuantizeOptions(cmd) {
  return cmd
    .option('--bits <n>', 'bitwidth, 2..16 (default 8; 4 for MatMul with --format matmulnbits)', integer(2, 16, 'bits'))
    .addOption(new Option('--scheme <scheme>', 'calibration scheme (default tf)').choices(['tf', 'symmetric', 'tf_enhanced', 'percentile']))
    .addOption(new Option('--per-channel', 'one encoding per output channel').conflicts('perTensor'))
    .option('--per-tensor', 'one encoding per tensor')
    .addOption(new Option('--rounding <mode>', 'rounding (default half-up)').choices(['half-up', 'half-even']))
    .addOption(new Option('--format <format>', 'output format (ONNX: qdq or matmulnbits; TF.js: tfjs)').choices(['qdq', 'matmulnbits', 'tfjs']))
    .option('--block-size <n>', 'block-wise quantization along the reduction axis', integer(1, Infinity, 'block-size'))
    .option('--keep <pattern>', 'keep float the weights whose name matches this glob (repeatable)', collect)
    .option('--min-elements <n>', 'tensors with fewer values stay float (models: default 1024)', integer(0, Infinity, 'min-elements'))
    .option('--requantize', 'TF.js: re-quantize weights the manifest already stores quantized or as float16')
    .option('--json', 'print one JSON object on stdout instead of the table');
}

function libraryOptions(opts) {
  const o = {};
  if (opts.bits !== undefined) o.bitwidth = opts.bits;
  if (opts.scheme !== undefined) o.scheme = opts.scheme;
  if (opts.perChannel) o.perChannel = true;
  if (opts.perTensor) o.perChannel = false;
  if (opts.rounding !== undefined) o.rounding = opts.rounding;
  if (opts.format !== undefined) o.format = opts.format;
  if (opts.blockSize !== undefined) o.blockSize = opts.blockSize;
  if (opts.keep !== undefined) o.keep = opts.keep;
  if (opts.minElements !== undefined) o.minElements = opts.minElements;
  if (opts.requantize) o.requantize = true;
  if (opts.encodingsVersion !== undefined) o.encodingsVersion = opts.encodingsVersion;
  return o;
}

function statInput(file) {
  let stat;
  try {
    stat = fs.statSync(file);
  } catch (e) {
    throw new InputError(`${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  }
  if (!stat.isFile()) throw new InputError(`${file}: not a file`);
  return stat;
}

// The model plus every other file beside it, as lazy Blobs: the adapter
// picks the external data or shards it needs and reads only those bytes.
async function modelFiles(file) {
  const dir = path.dirname(file);
  const files = {};
  let size = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (!entry.isFile() && !(entry.isSymbolicLink() && fs.statSync(full, { throwIfNoEntry: false })?.isFile())) continue;
    files[entry.name] = await fs.openAsBlob(full);
    size += files[entry.name].size;
  }
  return { files, size };
}

function progressBar(enabled) {
  if (!enabled) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: '{phase} [{bar}] {value}/{total} {name}', clearOnComplete: true, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update({ phase, done, total, name }) {
      const payload = { phase: phase.padEnd(8), name: name.length > 50 ? `…${name.slice(-49)}` : name };
      if (!started) {
        bar.start(total, done, payload);
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(done, payload);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

async function run(file, opts, write) {
  const stat = statInput(file);
  const name = path.basename(file);
  const options = libraryOptions(opts);
  const tensorFile = isTensorFile(name);
  if (!tensorFile && !/\.(onnx|json)$/i.test(name)) {
    throw new InputError(`${file}: unknown file type: give an .onnx model, a TF.js model.json, an .npy or a .safetensors file`);
  }
  let outDir;
  if (write) {
    outDir = path.resolve(opts.output);
    if (path.resolve(path.dirname(file)) === outDir)
      throw new InputError(`${file}: -o ${opts.output} would overwrite the input; choose another directory`);
  }
  const { files, size } = tensorFile ? { files: null, size: stat.size } : await modelFiles(file);
  const bar = progressBar(process.stderr.isTTY && !opts.json && size >= PROGRESS_MIN_BYTES);
  let result;
  try {
    if (tensorFile) {
      const quantizer = await createQuantizer();
      const bytes = new Uint8Array(fs.readFileSync(file));
      result = await processTensorFile({ name, bytes, options, quantizer, write, onProgress: bar.update });
    } else {
      // Other .onnx/.json files may sit beside it: name the one meant.
      const o = { ...options, model: name, onProgress: bar.update };
      result = await (write ? quantizeModel(files, o) : inspectModel(files, o));
    }
  } finally {
    bar.stop();
  }

  const report = { model: result.model, format: result.format, tensors: result.tensors, totals: result.totals, notes: result.notes };
  const written = [];
  if (write) {
    fs.mkdirSync(outDir, { recursive: true });
    for (const [outName, bytes] of Object.entries(result.files)) {
      const target = path.join(outDir, outName);
      fs.writeFileSync(target, bytes);
      written.push({ path: target, bytes: bytes.length });
    }
    const encodingsPath = path.join(outDir, `${name.replace(/\.[^.]*$/, '')}.encodings.json`);
    const text = `${JSON.stringify(result.encodings, null, 2)}\n`;
    fs.writeFileSync(encodingsPath, text);
    written.push({ path: encodingsPath, bytes: Buffer.byteLength(text) });
  }
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(write ? { ...report, written: written.map((w) => w.path) } : report)}\n`);
    return;
  }
  let text = formatReport(report);
  if (write) text += `\nwrote:\n${written.map((w) => `  ${w.path} (${humanBytes(w.bytes)})`).join('\n')}\n`;
  process.stdout.write(text);
}

// One line naming the file: the library's messages usually name the model
// already; tensor-level or file-system ones may not.
function inputErrorLine(e, file) {
  let message = String(e?.message ?? e)
    .replace(/^wasmquant: /, '')
    .replace(/\s*\n\s*/g, ' ');
  if (file && !message.includes(path.basename(file)) && !message.includes(file)) message = `${file}: ${message}`;
  return `wasmquant: ${message}`;
}

const program = new Command('wasmquant')
  .description('Quantize ONNX and TF.js models, .npy and .safetensors tensors as SNPE/QNN and AIMET do.')
  .version(version, '-V, --version')
  .exitOverride()
  .showHelpAfterError()
  .configureOutput({ outputError: (str, write) => write(str.replace(/^error: /, 'wasmquant: ')) });

let currentFile;

addQuantizeOptions(
  program
    .command('inspect')
    .description('show what quantize would do with each weight, and its SQNR')
    .argument('<file>', 'model.onnx, TF.js model.json, .npy or .safetensors'),
).action(async (file, opts) => {
  currentFile = file;
  await run(file, opts, false);
});

addQuantizeOptions(
  program
    .command('quantize')
    .description('quantize the weights and write the model (or tensors) and its AIMET encodings')
    .argument('<file>', 'model.onnx, TF.js model.json, .npy or .safetensors')
    .requiredOption('-o, --output <dir>', 'output directory (created if needed)'),
)
  .addOption(new Option('--encodings-version <version>', 'AIMET encodings version').choices(['0.6.1', '1.0.0']).default('0.6.1'))
  .action(async (file, opts) => {
    currentFile = file;
    await run(file, opts, true);
  });

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e?.code?.startsWith?.('commander.')) {
    // --help and --version exit 0; the rest are usage errors, already printed
    // (bare `wasmquant` only prints the help, so say what is missing).
    if (e.code === 'commander.help') process.stderr.write('wasmquant: missing command: inspect or quantize\n');
    process.exitCode = e.exitCode === 0 ? 0 : 2;
  } else {
    process.stderr.write(`${inputErrorLine(e, currentFile)}\n`);
    if (!(e instanceof InputError) && !/^wasmquant: /.test(e?.message ?? '') && process.env.WASMQUANT_DEBUG) process.stderr.write(`${e.stack}\n`);
    process.exitCode = 1;
  }
}
