#!/usr/bin/env node
// The wasmquant command line: inspect or quantize an ONNX model, a TF.js
// model.json, an .npy or a .safetensors file; calibrate an ONNX model's
// activations (cli/calibrate.js). Exit codes: 0 done, 1 bad
// input (one "wasmquant: " line on stderr), 2 usage error (help + reason).
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { createQuantizer } from '../web/index.js';
import { inspectModel, quantizeModel } from '../web/models/index.js';
import { addCalibrateCommand } from './cli/calibrate.js';
import { InputError, modelFiles, outputDir, progressBar, statInput, writeOutputs } from './cli/io.js';
import { addQuantizeOptions, encodingsVersionOption, libraryOptions } from './cli/options.js';
import { formatReport, humanBytes } from './cli/table.js';
import { isTensorFile, processTensorFile } from './cli/tensor-files.js';

const { version } = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const PROGRESS_MIN_BYTES = 8 * 1024 * 1024;

async function run(file, opts, write) {
  const stat = statInput(file);
  const name = path.basename(file);
  const options = libraryOptions(opts);
  const tensorFile = isTensorFile(name);
  if (!tensorFile && !/\.(onnx|json)$/i.test(name)) {
    throw new InputError(`${file}: unknown file type: give an .onnx model, a TF.js model.json, an .npy or a .safetensors file`);
  }
  const outDir = write ? outputDir(file, opts.output) : undefined;
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
  const written = write ? writeOutputs(outDir, name, result.files, result.encodings) : [];
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
  .addOption(encodingsVersionOption())
  .action(async (file, opts) => {
    currentFile = file;
    await run(file, opts, true);
  });

addCalibrateCommand(program, (file) => {
  currentFile = file;
});

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e?.code?.startsWith?.('commander.')) {
    // --help and --version exit 0; the rest are usage errors, already printed
    // (bare `wasmquant` only prints the help, so say what is missing).
    if (e.code === 'commander.help') process.stderr.write('wasmquant: missing command: inspect, quantize or calibrate\n');
    process.exitCode = e.exitCode === 0 ? 0 : 2;
  } else {
    process.stderr.write(`${inputErrorLine(e, e?.file !== undefined ? e.file : currentFile)}\n`);
    if (!(e instanceof InputError) && !/^wasmquant: /.test(e?.message ?? '') && process.env.WASMQUANT_DEBUG) process.stderr.write(`${e.stack}\n`);
    process.exitCode = 1;
  }
}
