// Calibration feeds from a directory, one entry per feed in natural name
// order: an .npy file (a single-input model), a .safetensors file whose
// tensors are named by the model's inputs, or a directory of <input>.npy.
// The listing is checked up front; each feed is read only when onnxruntime
// is ready for it, once per pass, so hundreds of feeds take one feed's
// memory.
import fs from 'node:fs';
import path from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import { readNpy, readSafetensors } from '../../web/index.js';
import { calibrationFeed, feedTensor } from '../../web/models/feeds.js';
import { graphInputs } from '../../web/models/onnx/inputs.js';
import { ModelProtoSchema } from '../../web/models/onnx/onnx_pb.js';
import { InputError } from './io.js';

const natural = new Intl.Collator('en', { numeric: true }).compare;
const listText = (inputs) => inputs.map((i) => i.name).join(', ');
const libraryMessage = (e) => String(e?.message ?? e).replace(/^wasmquant: /, '');

// The graph inputs a feed must give (those without an initializer): name,
// onnxruntime type, dims (a number, a symbolic dimension's name or null;
// null if unknown).
export function modelInputs(bytes, file) {
  let model;
  try {
    model = fromBinary(ModelProtoSchema, bytes);
  } catch (e) {
    throw new InputError(`${file} is not a valid ONNX model (${e.message})`);
  }
  const inputs = graphInputs(model.graph);
  if (inputs.length === 0) throw new InputError(`${file}: the model has no inputs to feed`);
  return inputs;
}

const visible = (dir) =>
  fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.')) // .DS_Store and the like
    .sort((a, b) => natural(a.name, b.name));

const isDirectory = (dir, entry) =>
  entry.isDirectory() || (entry.isSymbolicLink() && fs.statSync(path.join(dir, entry.name), { throwIfNoEntry: false })?.isDirectory());

// A directory feed: exactly one <input>.npy per model input.
function directoryFeed(where, inputs, model) {
  const parts = {};
  for (const entry of visible(where)) {
    const input = inputs.find((i) => `${i.name}.npy` === entry.name);
    const file = path.join(where, entry.name);
    if (!input) throw new InputError(`${file}: not an input of ${model} (its inputs: ${listText(inputs)}): give <input>.npy files`, file);
    parts[input.name] = file;
  }
  const missing = inputs.filter((i) => !parts[i.name]);
  if (missing.length > 0) {
    throw new InputError(`${where}: no ${missing.map((i) => `${i.name}.npy`).join(', ')} (the inputs of ${model}: ${listText(inputs)})`, where);
  }
  return { name: path.basename(where), path: where, parts };
}

// The feeds of `dir` as [{ name, path, parts?: { input: file } }], checked
// against the model's inputs without reading any data.
export function listFeeds(dir, inputs, model) {
  let stat;
  try {
    stat = fs.statSync(dir);
  } catch (e) {
    throw new InputError(`${dir}: ${e.code === 'ENOENT' ? 'no such directory' : e.message}`, dir);
  }
  if (!stat.isDirectory()) throw new InputError(`${dir}: not a directory: --inputs takes a directory of feeds`, dir);
  const feeds = [];
  for (const entry of visible(dir)) {
    const where = path.join(dir, entry.name);
    if (isDirectory(dir, entry)) feeds.push(directoryFeed(where, inputs, model));
    else if (/\.safetensors$/i.test(entry.name)) feeds.push({ name: entry.name, path: where });
    else if (/\.npy$/i.test(entry.name)) {
      if (inputs.length !== 1) {
        throw new InputError(
          `${where}: ${model} has ${inputs.length} inputs (${listText(inputs)}): give each feed as a .safetensors file or a directory of <input>.npy files`,
          where,
        );
      }
      feeds.push({ name: entry.name, path: where, parts: { [inputs[0].name]: where } });
    } else {
      throw new InputError(`${where}: not a feed: give .npy files, .safetensors files or directories of <input>.npy files`, where);
    }
  }
  if (feeds.length === 0) {
    throw new InputError(`${dir}: no feeds: give .npy files, .safetensors files or directories of <input>.npy files`, dir);
  }
  return feeds;
}

async function read(file, reader) {
  try {
    return reader(new Uint8Array(await fs.promises.readFile(file)));
  } catch (e) {
    throw new InputError(`${file}: ${libraryMessage(e)}`, file);
  }
}

// The library's feed checks, their message under the file's name.
function checked(make, where, file) {
  try {
    return make();
  } catch (e) {
    if (e instanceof RangeError) throw new InputError(`${where}: ${e.message}`, file);
    throw e;
  }
}

async function readFeed(feed, inputs, model) {
  if (feed.parts) {
    const out = {};
    for (const input of inputs) {
      const file = feed.parts[input.name];
      const t = await read(file, readNpy);
      out[input.name] = checked(() => feedTensor(t, input, model), file, file);
    }
    return out;
  }
  const { tensors } = await read(feed.path, readSafetensors);
  return checked(() => calibrationFeed(tensors, inputs, model), feed.path, feed.path);
}

// calibrateModel's inputs: a function returning a fresh async iterable, so
// multi-pass schemes read the directory again. onFeed({ pass, done, total,
// name }) is called before each feed.
export function feedSource(feeds, inputs, model, onFeed = () => {}) {
  let pass = 0;
  return async function* open() {
    pass += 1;
    for (const [i, feed] of feeds.entries()) {
      onFeed({ pass, done: i, total: feeds.length, name: feed.name });
      yield await readFeed(feed, inputs, model);
    }
    onFeed({ pass, done: feeds.length, total: feeds.length, name: '' });
  };
}
