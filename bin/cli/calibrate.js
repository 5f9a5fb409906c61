// wasmquant calibrate: static quantization of an ONNX model with the
// library's calibrateModel, run in onnxruntime over a directory of feeds
// (feeds.js); writes the QDQ model and one AIMET file with the activation
// and weight encodings.
import fs from 'node:fs';
import path from 'node:path';
import { Option } from 'commander';
import { calibrateModel } from '../../web/models/index.js';
import { feedSource, listFeeds, modelInputs } from './feeds.js';
import { InputError, modelFiles, outputDir, progressBar, statInput, writeOutputs } from './io.js';
import { addQuantizeOptions, collect, encodingsVersionOption, integer, libraryOptions, number } from './options.js';
import { formatActivations, formatReport, humanBytes } from './table.js';

const INSTALL = 'npm install onnxruntime-node';

// onnxruntime is an optional peer: onnxruntime-node, else onnxruntime-web
// (its Node build); the first one installed that loads.
async function loadOnnxruntime() {
  const broken = [];
  for (const name of ['onnxruntime-node', 'onnxruntime-web']) {
    try {
      // A runtime that failed before the one that loaded is worth a note.
      return { name, ort: await import(name), notes: broken.map((b) => `${b}: ran in ${name}`) };
    } catch (e) {
      // Not installed, or installed but failing to load (a native binary
      // missing for this platform, say): only the latter is worth its message.
      const missing = e?.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes(`'${name}'`);
      if (!missing) broken.push(`${name} did not load (${String(e?.message ?? e).split('\n')[0]})`);
    }
  }
  const why = broken.length > 0 ? broken.join('; ') : 'neither onnxruntime-node nor onnxruntime-web is installed';
  throw new InputError(`calibrate runs the model in onnxruntime: ${why}; ${INSTALL}`, null);
}

// calibrateModel names a feed by its index within a pass; the directory's
// order is the feeds' order, so the index names the file.
function feedError(e, feeds) {
  const m = /calibrateModel: inputs\[(\d+)\]: (.*)$/s.exec(String(e?.message ?? ''));
  if (!m || !feeds[Number(m[1])]) return e;
  const where = feeds[Number(m[1])].path;
  return new InputError(`${where}: ${m[2]}`, where);
}

async function calibrate(file, opts, cmd) {
  if (opts.percentile !== undefined && opts.scheme !== 'percentile') {
    cmd.error(`error: --percentile applies to --scheme percentile, not ${opts.scheme}`, { exitCode: 2, code: 'commander.conflict' });
  }
  statInput(file);
  const name = path.basename(file);
  if (!/\.onnx$/i.test(name)) throw new InputError(`${file}: calibrate takes an ONNX model (.onnx)`);
  const outDir = outputDir(file, opts.output);
  const inputs = modelInputs(new Uint8Array(fs.readFileSync(file)), file);
  const feeds = listFeeds(opts.inputs, inputs, name);
  const runtime = await loadOnnxruntime();
  // onnxruntime would also log a failing run on stderr; the error line
  // below says it once.
  const sessionOptions = { logSeverityLevel: 4 };
  if (opts.threads !== undefined) {
    // onnxruntime-web takes its thread count from env, -node per session.
    if (runtime.name === 'onnxruntime-web') runtime.ort.env.wasm.numThreads = opts.threads;
    else sessionOptions.intraOpNumThreads = opts.threads;
  }
  // calibrateModel takes exactly one .onnx: leave out other models beside it
  // (external data, e.g. model.onnx.data, stays).
  const { files: all } = await modelFiles(file);
  const files = Object.fromEntries(Object.entries(all).filter(([n]) => n === name || !/\.onnx$/i.test(n)));

  const bar = progressBar(process.stderr.isTTY && !opts.json);
  const onFeed = ({ pass, done, total, name: feedName }) =>
    bar.update({ phase: pass > 1 ? `pass ${pass}` : 'calibrate', done, total, name: feedName });
  // The runs are shown per feed file by onFeed; the library's own run
  // phases (calibrate, report) would repeat them without the file names.
  const onProgress = (p) => p.phase !== 'calibrate' && p.phase !== 'report' && bar.update(p);
  const options = { ...libraryOptions(opts), ort: runtime.ort, sessionOptions, model: name, onProgress };
  if (opts.symmetric) options.symmetric = true;
  if (opts.percentile !== undefined) options.percentile = opts.percentile;
  if (!opts.report) options.report = false;
  if (!opts.fold) options.fold = false;
  if (opts.shareConcat) options.shareConcat = true;
  if (!opts.fuseActivations) options.fuseActivations = false;
  if (opts.excludeNode) options.excludeNodes = opts.excludeNode;
  let result;
  try {
    result = await calibrateModel(files, feedSource(feeds, inputs, name, onFeed), options);
  } catch (e) {
    throw feedError(e, feeds);
  } finally {
    bar.stop();
  }

  const report = {
    model: name,
    format: 'onnx-qdq',
    runtime: runtime.name,
    feeds: feeds.length,
    activations: result.activations,
    tensors: result.tensors,
    totals: result.totals,
    notes: [...runtime.notes, ...result.notes],
  };
  const written = writeOutputs(outDir, name, result.files, result.encodings);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ ...report, written: written.map((w) => w.path) })}\n`);
    return;
  }
  const wrote = written.map((w) => `  ${w.path} (${humanBytes(w.bytes)})`).join('\n');
  process.stdout.write(`${formatReport(report)}\n${formatActivations(report)}\nwrote:\n${wrote}\n`);
}

export function addCalibrateCommand(program, onFile) {
  const cmd = program
    .command('calibrate')
    .description('calibrate the activations over your inputs in onnxruntime; write the fully quantized QDQ model and its AIMET encodings')
    .argument('<model>', 'model.onnx')
    .requiredOption('--inputs <dir>', 'the feeds, one per entry: .npy files (one-input models), .safetensors files or directories of <input>.npy')
    .requiredOption('-o, --output <dir>', 'output directory (created if needed)');
  addQuantizeOptions(cmd, {
    omit: ['--format', '--requantize'],
    describe: {
      '--bits': 'bitwidth of weights and activations, 2..16 (default 8)',
      '--scheme': 'calibration scheme of weights and activations (default tf)',
      '--per-channel': 'one encoding per output channel (weights)',
      '--per-tensor': 'one encoding per tensor (weights)',
      '--rounding': 'rounding of the weights (default half-up; activations are rounded by the runtime)',
      '--min-elements': 'weights with fewer values stay float (default 0: a quantized op needs all its weights quantized)',
    },
  })
    .option('--symmetric', 'symmetric encodings (weights and activations)')
    .addOption(
      new Option('--percentile <p>', 'the upper percentile, 50..100 (default 99.99); implies --scheme percentile')
        .argParser(number('percentile'))
        .implies({ scheme: 'percentile' }),
    )
    .option('--no-report', "skip the activations' data range and SQNR (one read of the feeds less)")
    .addOption(
      new Option(
        '--exclude-node <pattern>',
        'keep float the nodes whose name matches this glob: no Q/DQ after them, their own weights float (repeatable)',
      ).argParser(collect),
    )
    .option('--share-concat', "a Concat's inputs take its output's encoding (one scale across it, as TFLite and Qualcomm's HTP want)")
    .option('--no-fuse-activations', "a Conv (or Add, …) read only by a Relu or Clip keeps its own encoding instead of the activation's")
    .option('--no-fold', 'keep the norms and per-channel Mul/Add after Convs as ops of their own (folded into the Convs by default)')
    .option('--threads <n>', "onnxruntime's thread count (default: the runtime's)", integer(1, 1024, 'threads'))
    .addOption(encodingsVersionOption())
    .addHelpText(
      'after',
      `
Feeds, one per entry of --inputs, in natural order (2 before 10), hidden files skipped:
  <name>.npy            the data of the model's only input
  <name>.safetensors    one tensor per model input, named by it
  <name>/<input>.npy    a directory per feed, one .npy per model input

The model runs in onnxruntime-node, else onnxruntime-web: ${INSTALL}.`,
    )
    .action(async (file, opts) => {
      onFile(file);
      await calibrate(file, opts, cmd);
    });
  return cmd;
}
