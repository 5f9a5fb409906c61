// The TF.js adapter of wasmquant/models: reads a model.json (layers or graph
// model) and its weight shards, names each weight's op and role for the
// driver, and writes the model back with TF.js's own manifest quantization
// ({ dtype: 'uint8' | 'uint16', scale, min } per tensor), which tfjs-core
// dequantizes on load as v * scale + min. The format was learnt from the
// tfjs-core io docs and sources; no tfjs code is used here.
import {
  decodeUtf8,
  describe,
  elementCount,
  fail,
  float16ToFloat32,
  isPlainObject,
  LITTLE_ENDIAN,
  parseJson,
  readLittleEndian,
  swapBytes,
  typedArrayName,
} from '../../formats/common.js';
import { baseName, requireFile } from '../files.js';

// tfjs-converter's default --weight_shard_size_bytes.
export const SHARD_BYTES = 4 * 1024 * 1024;

// Bytes per element of the manifest dtypes tfjs-core decodes ('string' has
// none: each element is a uint32 LE byte length and then that many bytes).
const DTYPE_BYTES = { float32: 4, int32: 4, bool: 1, complex64: 8 };
// Bytes per element of the stored codes when an entry has `quantization`.
const QUANTIZED_BYTES = { uint8: 1, uint16: 2, float16: 2 };
const STRING_LENGTH_BYTES = 4;

// ---------------------------------------------------------------------------
// Reading the manifest.

// "model.json: weight "a/kernel"" — every message names both.
const where = (file, name) => (name === undefined ? file : `${file}: weight ${describe(name)}`);

function checkQuantization(q, dtype, what) {
  if (!isPlainObject(q)) fail(TypeError, `${what} has a quantization that is not an object (${describe(q)})`);
  if (!Object.hasOwn(QUANTIZED_BYTES, q.dtype)) {
    fail(RangeError, `${what} has the quantization dtype ${describe(q.dtype)}; TF.js knows 'uint8', 'uint16' and 'float16'`);
  }
  if (q.dtype === 'float16') {
    if (dtype !== 'float32') fail(RangeError, `${what} is float16-quantized, which TF.js allows for float32 only, not ${describe(dtype)}`);
    return { dtype: 'float16', scale: undefined, min: undefined };
  }
  if (dtype !== 'float32' && dtype !== 'int32') {
    fail(RangeError, `${what} is ${q.dtype}-quantized, which TF.js allows for float32 and int32 only, not ${describe(dtype)}`);
  }
  for (const key of ['scale', 'min']) {
    if (typeof q[key] !== 'number' || !Number.isFinite(q[key])) {
      fail(RangeError, `${what} has a ${q.dtype} quantization whose ${key} is ${describe(q[key])}, not a finite number`);
    }
  }
  return { dtype: q.dtype, scale: q.scale, min: q.min };
}

// One manifest entry, checked, without its place in the shards yet.
function readEntry(entry, file, index) {
  if (!isPlainObject(entry)) fail(TypeError, `${file}: ${index} is ${describe(entry)}, not a weight entry object`);
  const { name, shape, dtype } = entry;
  if (typeof name !== 'string') fail(TypeError, `${file}: ${index} has the name ${describe(name)}, not a string`);
  const what = where(file, name);
  if (typeof dtype !== 'string' || (dtype !== 'string' && !Object.hasOwn(DTYPE_BYTES, dtype))) {
    fail(RangeError, `${what} has the unknown dtype ${describe(dtype)} (TF.js stores float32, int32, bool, string and complex64)`);
  }
  const count = elementCount(shape, `${what}: shape`);
  const quantized = Object.hasOwn(entry, 'quantization') ? checkQuantization(entry.quantization, dtype, what) : null;
  return {
    entry,
    name,
    shape: shape.slice(),
    // float16 storage is reported as its own dtype: the driver sees what the bytes hold.
    dtype: quantized?.dtype === 'float16' ? 'float16' : dtype,
    count,
    quantized,
    stride: quantized ? QUANTIZED_BYTES[quantized.dtype] : DTYPE_BYTES[dtype], // undefined for strings
  };
}

// A group's shards read as one byte range, the way tfjs concatenates them;
// reads may cross shard boundaries.
function groupReader(shards) {
  let start = 0;
  const parts = shards.map((entry) => {
    const part = { entry, start };
    start += entry.size;
    return part;
  });
  const size = start;
  async function read(offset, length) {
    const out = new Uint8Array(length);
    for (const { entry, start: at } of parts) {
      const from = Math.max(offset, at);
      const to = Math.min(offset + length, at + entry.size);
      if (from < to) out.set(await entry.slice(from - at, to - from), from - offset);
    }
    return out;
  }
  return { size, read, parts };
}

// The group's shards and their sizes, for messages.
function shardList(reader) {
  if (reader.parts.length === 0) return 'no shards';
  const shown = reader.parts.slice(-8).map((p) => `${describe(p.entry.name)}: ${p.entry.size} bytes`);
  return `${reader.parts.length > 8 ? '…, ' : ''}${shown.join(', ')}; ${reader.size} in all`;
}

// The byte length of a string weight: walk its uint32 length prefixes,
// through a 64 KiB window so a vocabulary of short strings is not one read
// per string. Each element takes at least 4 bytes, so an absurd count fails
// before the walk.
const STRING_WINDOW = 65536;
async function stringByteLength(reader, offset, w, shortError) {
  if (w.count * STRING_LENGTH_BYTES > reader.size - offset) shortError(w.count * STRING_LENGTH_BYTES);
  let window = new Uint8Array(0);
  let windowStart = offset;
  let length = 0;
  for (let i = 0; i < w.count; i += 1) {
    const at = offset + length;
    if (at + STRING_LENGTH_BYTES > reader.size) shortError(length + STRING_LENGTH_BYTES);
    if (at < windowStart || at + STRING_LENGTH_BYTES > windowStart + window.length) {
      windowStart = at;
      window = await reader.read(at, Math.min(STRING_WINDOW, reader.size - at));
    }
    const prefix = new DataView(window.buffer, window.byteOffset + (at - windowStart), STRING_LENGTH_BYTES);
    length += STRING_LENGTH_BYTES + prefix.getUint32(0, true);
    if (offset + length > reader.size) shortError(length);
  }
  return length;
}

// The shard files of one group, by the manifest's paths (relative URLs:
// only the base name is looked up, percent-escapes undone when needed).
function groupShards(fileSet, group, g, file) {
  if (!isPlainObject(group)) fail(TypeError, `${file}: weightsManifest[${g}] is ${describe(group)}, not an object`);
  const { paths, weights } = group;
  if (!Array.isArray(paths)) fail(TypeError, `${file}: weightsManifest[${g}].paths must be an array of file names, got ${describe(paths)}`);
  paths.forEach((p, i) => {
    if (typeof p !== 'string' || p === '') fail(TypeError, `${file}: weightsManifest[${g}].paths[${i}] must be a file name, got ${describe(p)}`);
  });
  if (!Array.isArray(weights)) fail(TypeError, `${file}: weightsManifest[${g}].weights must be an array, got ${describe(weights)}`);
  // Name a weight the missing shard holds, so the message says what is lost.
  const more = weights.length > 1 ? ` and ${weights.length - 1} more` : '';
  const first = typeof weights[0]?.name === 'string' ? `, holding weight ${describe(weights[0].name)}${more}` : '';
  return paths.map((path) => {
    const base = baseName(path);
    if (!fileSet.has(base)) {
      let decoded;
      try {
        decoded = decodeURIComponent(base);
      } catch {
        decoded = base;
      }
      if (fileSet.has(decoded)) return fileSet.get(decoded);
    }
    return requireFile(fileSet, base, `${file} (weightsManifest[${g}]${first})`);
  });
}

// ---------------------------------------------------------------------------
// What reads each weight: ops and roles.

// Graph-model ops and which of their inputs are a weight (conv filter,
// matrix, embedding table) or a bias (BiasAdd's, or the first fused arg of
// the fused ops); any other input is 'other'.
const GRAPH_WEIGHT_INPUTS = {
  Conv1D: { weight: [1] },
  Conv2D: { weight: [1] },
  Conv3D: { weight: [1] },
  Conv2DBackpropInput: { weight: [1] },
  DepthwiseConv2dNative: { weight: [1] },
  DepthwiseConv2D: { weight: [1] },
  _FusedConv2D: { weight: [1], bias: [2] },
  FusedConv2D: { weight: [1], bias: [2] },
  FusedDepthwiseConv2dNative: { weight: [1], bias: [2] },
  _FusedDepthwiseConv2dNative: { weight: [1], bias: [2] },
  MatMul: { weight: [0, 1] },
  BatchMatMul: { weight: [0, 1] },
  BatchMatMulV2: { weight: [0, 1] },
  _FusedMatMul: { weight: [0, 1], bias: [2] },
  FusedMatMul: { weight: [0, 1], bias: [2] },
  Einsum: { weight: [0, 1] },
  BiasAdd: { bias: [1] },
  Gather: { weight: [0] },
  GatherV2: { weight: [0] },
  ResourceGather: { weight: [0] },
};

const ROLE_RANK = { weight: 3, bias: 2, other: 1 };

function graphRole(op, inputIndex, control) {
  if (control) return 'other';
  const table = GRAPH_WEIGHT_INPUTS[op];
  if (table?.weight?.includes(inputIndex)) return 'weight';
  if (table?.bias?.includes(inputIndex)) return 'bias';
  return 'other';
}

// All node lists of a graph model: the main graph, function bodies (control
// flow) and the initializer graph (hash tables).
function graphNodes(json) {
  const lists = [json.modelTopology?.node, json.modelInitializer?.node];
  const functions = json.modelTopology?.library?.function;
  if (Array.isArray(functions)) for (const f of functions) lists.push(f?.nodeDef);
  return lists.filter(Array.isArray).flat().filter((n) => isPlainObject(n) && typeof n.name === 'string');
}

// name → [{ op, role }] for every node input: "x", "x:0" and "^x" (a
// control edge, which does not read the value) all refer to node "x".
// Identity nodes pass their consumers on to the weight they forward.
function graphConsumers(json) {
  const nodes = graphNodes(json);
  const readers = new Map();
  for (const node of nodes) {
    if (!Array.isArray(node.input)) continue;
    node.input.forEach((input, index) => {
      if (typeof input !== 'string') return;
      const control = input.startsWith('^');
      const source = input.replace(/^\^/, '').replace(/:\d+$/, '');
      if (!readers.has(source)) readers.set(source, []);
      readers.get(source).push({ node, index, control });
    });
  }
  // A worklist, not recursion: a file may chain any number of Identities.
  return (name) => {
    const seen = new Set([name]);
    const pending = [name];
    const out = [];
    while (pending.length) {
      for (const { node, index, control } of readers.get(pending.pop()) ?? []) {
        const op = typeof node.op === 'string' ? node.op : 'unknown';
        if (control || (op !== 'Identity' && op !== 'Snapshot')) out.push({ op, role: graphRole(op, index, control) });
        else if (!seen.has(node.name)) {
          seen.add(node.name);
          pending.push(node.name);
        }
      }
    }
    return out;
  };
}

// The consumer that says most about the weight: a filter/matrix read beats
// a bias read beats anything else.
function strongest(uses) {
  let best;
  for (const use of uses) if (!best || ROLE_RANK[use.role] > ROLE_RANK[best.role]) best = use;
  return best ?? { op: 'unknown', role: 'other' };
}

// Every layer of a Keras config by name, nested models (Functional,
// Sequential, Model: config.layers, or an old Sequential's bare array) and
// wrappers (TimeDistributed, Bidirectional: config.layer) included.
function kerasLayers(topology) {
  const byName = new Map();
  const visit = (layer, depth) => {
    if (!isPlainObject(layer) || depth > 32) return;
    const config = layer.config;
    const name = typeof layer.name === 'string' ? layer.name : config?.name;
    if (typeof name === 'string' && typeof layer.class_name === 'string' && !byName.has(name)) byName.set(name, layer.class_name);
    const children = Array.isArray(config) ? config : Array.isArray(config?.layers) ? config.layers : [];
    for (const child of children) visit(child, depth + 1);
    if (isPlainObject(config?.layer)) visit(config.layer, depth + 1);
    if (isPlainObject(config?.backward_layer)) visit(config.backward_layer, depth + 1);
  };
  const root = isPlainObject(topology?.model_config) ? topology.model_config : topology;
  visit(root, 0);
  return byName;
}

const KERAS_WEIGHT_NAMES = new Set(['kernel', 'depthwise_kernel', 'pointwise_kernel', 'recurrent_kernel', 'embeddings']);
const KERAS_BIAS_NAMES = new Set(['bias', 'depthwise_bias', 'pointwise_bias', 'recurrent_bias']);

// "block/conv/kernel:0" → owner: the nearest path component naming a layer
// ("conv", else "block"); role from the variable name.
function kerasUse(layers, name) {
  const parts = name.replace(/:\d+$/, '').split('/');
  const variable = parts.pop();
  const role = KERAS_WEIGHT_NAMES.has(variable) ? 'weight' : KERAS_BIAS_NAMES.has(variable) ? 'bias' : 'other';
  for (let i = parts.length - 1; i >= 0; i -= 1) {
    if (layers.has(parts[i])) return { op: layers.get(parts[i]), role };
  }
  return { op: 'unknown', role };
}

function modelKind(json, file) {
  const topology = json.modelTopology;
  if (json.format === 'graph-model' || (isPlainObject(topology) && Array.isArray(topology.node))) return 'graph-model';
  if (json.format === 'layers-model' || (isPlainObject(topology) && (isPlainObject(topology.model_config) || typeof topology.class_name === 'string'))) {
    return 'layers-model';
  }
  return fail(Error, `${file} is neither a TF.js graph model (modelTopology.node) nor a layers model (modelTopology.model_config); format is ${describe(json.format)}`);
}

// ---------------------------------------------------------------------------
// Values.

// The float32 values tfjs would hand the model: codes times scale plus min
// (in double, then rounded to float32, as tfjs-core does), float16 widened.
function decodeFloats(bytes, w) {
  const q = w.quantized;
  if (!q) return readLittleEndian(bytes, 0, bytes.length, Float32Array);
  if (q.dtype === 'float16') return float16ToFloat32(readLittleEndian(bytes, 0, bytes.length, Uint16Array));
  const codes = q.dtype === 'uint8' ? bytes : readLittleEndian(bytes, 0, bytes.length, Uint16Array);
  const out = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i += 1) out[i] = codes[i] * q.scale + q.min;
  return out;
}

const isFloatWeight = (w) => w.dtype === 'float32' || w.dtype === 'float16';

// ---------------------------------------------------------------------------
// Opening.

async function readModelJson(fileSet, mainName) {
  const file = requireFile(fileSet, mainName, 'a TF.js model');
  const text = decodeUtf8(await file.bytes(), mainName);
  const json = parseJson(text, mainName);
  if (!isPlainObject(json)) fail(TypeError, `${mainName} must hold a JSON object, got ${describe(json)}`);
  if (!Array.isArray(json.weightsManifest)) {
    fail(TypeError, `${mainName} has no weightsManifest array (got ${describe(json.weightsManifest)}); it is not a TF.js model.json`);
  }
  return json;
}

export async function openTfjs(fileSet, mainName) {
  const json = await readModelJson(fileSet, mainName);
  const kind = modelKind(json, mainName);
  const useOf = kind === 'graph-model'
    ? ((consumers) => (name) => strongest(consumers(name)))(graphConsumers(json))
    : ((layers) => (name) => kerasUse(layers, name))(kerasLayers(json.modelTopology));

  const weights = [];
  const groups = [];
  const seen = new Set();
  let alreadyQuantized = 0;
  for (const [g, group] of json.weightsManifest.entries()) {
    const reader = groupReader(groupShards(fileSet, group, g, mainName));
    const placed = [];
    let offset = 0;
    for (const [i, entry] of group.weights.entries()) {
      const w = readEntry(entry, mainName, `weightsManifest[${g}].weights[${i}]`);
      const what = where(mainName, w.name);
      if (seen.has(w.name)) fail(RangeError, `${what} appears twice in the weightsManifest`);
      seen.add(w.name);
      const shortError = (needed) => fail(
        RangeError,
        `${what} needs ${needed} bytes from byte ${offset} of weightsManifest[${g}]'s shards, ${offset + needed - reader.size} bytes short of what they hold (${shardList(reader)}); is a shard truncated?`,
      );
      const byteLength = w.stride === undefined ? await stringByteLength(reader, offset, w, shortError) : w.count * w.stride;
      if (offset + byteLength > reader.size) shortError(byteLength);
      const start = offset;
      offset += byteLength;
      if (w.quantized && w.quantized.dtype !== 'float16') alreadyQuantized += 1;
      const { op, role } = useOf(w.name);
      const weight = {
        name: w.name,
        op,
        role,
        shape: w.shape,
        dtype: w.dtype,
        count: w.count,
        byteLength,
        // One scale per tensor in TF.js: no channel or block axis to offer.
        channelAxis: null,
        blockAxis: null,
        quantized: w.quantized,
        read: async () => (isFloatWeight(w) ? decodeFloats(await reader.read(start, byteLength), w) : null),
      };
      weights.push(weight);
      placed.push({ weight, entry, start, byteLength });
    }
    groups.push({ reader, placed, paths: group.paths, used: offset });
  }

  const notes = [];
  if (alreadyQuantized) {
    notes.push(`${alreadyQuantized} of ${weights.length} weights are already stored uint8/uint16-quantized in the manifest (re-quantizing them rounds a second time)`);
  }
  for (const [g, { reader, used }] of groups.entries()) {
    if (reader.size > used) notes.push(`weightsManifest[${g}]'s shards hold ${reader.size - used} bytes past the last weight; they are dropped`);
  }

  return {
    format: 'tfjs',
    name: mainName,
    kind,
    weights,
    notes,
    constrain,
    write: (results) => writeModel(json, mainName, groups, results),
  };
}

// ---------------------------------------------------------------------------
// What TF.js can store.

const containerFor = (bitwidth) => (bitwidth <= 8 ? 'uint8' : 'uint16');

// TF.js's manifest holds one scale and min per tensor in a uint8 or uint16
// container; anything else in the decision is brought to that, with a note.
export function constrain(weight, decision) {
  if (decision?.action !== 'quantize') return decision;
  if (weight.dtype !== 'float32' && weight.dtype !== 'float16') {
    return { action: 'keep', reason: `TF.js ${weight.dtype} weights are kept as they are`, note: `${weight.dtype} weight kept` };
  }
  if (!(decision.bitwidth >= 2 && decision.bitwidth <= 16)) {
    return { action: 'keep', reason: `TF.js stores codes of up to 16 bits, not ${decision.bitwidth}`, note: `bitwidth ${decision.bitwidth} not storable; kept` };
  }
  const out = { ...decision };
  const changes = [];
  if (out.axis !== null && out.axis !== undefined) {
    out.axis = null;
    changes.push('per-tensor instead of per-channel (TF.js stores one scale per tensor)');
  }
  if (out.blockSize !== null && out.blockSize !== undefined) {
    out.blockSize = null;
    changes.push('no blocks (TF.js stores one scale per tensor)');
  }
  const container = containerFor(out.bitwidth);
  out.storage = container;
  out.bytesAfter = weight.count * (container === 'uint8' ? 1 : 2);
  if (out.bitwidth !== 8 && out.bitwidth !== 16) {
    changes.push(`${out.bitwidth}-bit codes stored in ${container} (they use ${2 ** out.bitwidth} of its ${container === 'uint8' ? 256 : 65536} values; the file is no smaller than ${container === 'uint8' ? 8 : 16}-bit)`);
  }
  if (changes.length) out.note = [decision.note, ...changes].filter(Boolean).join('; ');
  return out;
}

// ---------------------------------------------------------------------------
// Writing.

// The core's code arrays (unpacked; 4-bit packing has no TF.js form).
const CODE_TYPES = new Set(['Uint8Array', 'Uint16Array', 'Int8Array', 'Int16Array']);

// Unsigned codes for TF.js: symmetric codes s are stored as s - offset, so
// that (u * scale + offset * scale) is s * scale again.
function storedCodes(name, result, weight, file) {
  const what = where(file, name);
  if (!isFloatWeight(weight)) fail(TypeError, `${what} is ${weight.dtype}; only float weights can take quantized codes`);
  // The driver hands { encodings: [one] } (its per-tensor form), the core { encoding }.
  const { codes } = result ?? {};
  const encoding = result?.encoding ?? (Array.isArray(result?.encodings) && result.encodings.length === 1 ? result.encodings[0] : result?.encodings);
  if (!isPlainObject(encoding)) fail(TypeError, `${what}: the result needs one encoding object (TF.js stores one per tensor), got ${describe(encoding)}`);
  const { bitwidth, scale, offset } = encoding;
  if (!Number.isInteger(bitwidth) || bitwidth < 2 || bitwidth > 16) fail(RangeError, `${what}: encoding bitwidth ${describe(bitwidth)} is not 2..16`);
  if (!(scale > 0 && Number.isFinite(scale)) || !Number.isInteger(offset) || offset > 0) {
    fail(RangeError, `${what}: encoding needs a finite scale > 0 and an integer offset <= 0, got scale ${scale}, offset ${offset}`);
  }
  if (!CODE_TYPES.has(typedArrayName(codes)) || codes.length !== weight.count) {
    fail(TypeError, `${what}: the result needs ${weight.count} codes (one per element, unpacked), got ${describe(codes)} of length ${codes?.length}`);
  }
  const container = containerFor(bitwidth);
  const out = container === 'uint8' ? new Uint8Array(codes.length) : new Uint16Array(codes.length);
  const shift = codes instanceof Int8Array || codes instanceof Int16Array ? -offset : 0;
  const top = 2 ** bitwidth - 1;
  for (let i = 0; i < codes.length; i += 1) {
    const u = codes[i] + shift;
    if (!(u >= 0 && u <= top)) fail(RangeError, `${what}: code ${codes[i]} at element ${i} is outside the ${bitwidth}-bit encoding`);
    out[i] = u;
  }
  const bytes = new Uint8Array(out.buffer);
  if (!LITTLE_ENDIAN && out.BYTES_PER_ELEMENT > 1) swapBytes(bytes, out.BYTES_PER_ELEMENT); // tfjs reads LE
  return {
    bytes,
    // min = offset * scale makes the code -offset dequantize to exactly 0.
    quantization: { dtype: container, scale, min: offset * scale },
  };
}

// New shards keep the input's naming: "group1-shard1of1" or "….bin".
const shardSuffix = (paths) => (paths.some((p) => p.endsWith('.bin')) ? '.bin' : '');

// The bytes of one group's weights, in manifest order, cut into shards of
// at most SHARD_BYTES (weights may straddle a cut: tfjs concatenates). Sizes
// are known before anything is copied, so the shards are allocated once and
// kept weights are read into them one at a time.
async function writeGroup(group, g, results, file, used) {
  const layout = group.placed.map(({ weight, entry, start, byteLength }) => {
    const result = results.get(weight.name);
    if (!result) return { entry, size: byteLength, read: () => group.reader.read(start, byteLength) };
    used.add(weight.name);
    const { bytes, quantization } = storedCodes(weight.name, result, weight, file);
    return { entry: { ...entry, dtype: 'float32', quantization }, size: bytes.length, read: async () => bytes };
  });
  const total = layout.reduce((n, piece) => n + piece.size, 0);
  const count = Math.max(1, Math.ceil(total / SHARD_BYTES));
  const suffix = shardSuffix(group.paths);
  const shards = Array.from({ length: count }, (_, i) => ({
    name: `group${g + 1}-shard${i + 1}of${count}${suffix}`,
    bytes: new Uint8Array(Math.min(SHARD_BYTES, total - i * SHARD_BYTES)),
  }));
  let at = 0;
  for (const piece of layout) {
    const bytes = piece.size ? await piece.read() : new Uint8Array(0);
    for (let done = 0; done < bytes.length;) {
      const shard = shards[Math.floor(at / SHARD_BYTES)];
      const into = at % SHARD_BYTES;
      const n = Math.min(bytes.length - done, shard.bytes.length - into);
      shard.bytes.set(bytes.subarray(done, done + n), into);
      done += n;
      at += n;
    }
  }
  return { shards, entries: layout.map((piece) => piece.entry), total };
}

async function writeModel(json, file, groups, results) {
  if (!(results instanceof Map)) fail(TypeError, `write() takes a Map from weight name to result, got ${describe(results)}`);
  const files = {};
  const notes = [];
  const used = new Set();
  const manifest = [];
  for (const [g, group] of groups.entries()) {
    const { shards, entries, total } = await writeGroup(group, g, results, file, used);
    for (const shard of shards) {
      if (shard.name === baseName(file) || Object.hasOwn(files, shard.name)) fail(RangeError, `${file}: the new shard name ${describe(shard.name)} is taken`);
      files[shard.name] = shard.bytes;
    }
    manifest.push({ ...json.weightsManifest[g], paths: shards.map((s) => s.name), weights: entries });
    notes.push(`weightsManifest[${g}]: ${group.reader.size} bytes in ${group.paths.length} shard(s) → ${total} bytes in ${shards.length} shard(s) of at most 4 MB`);
  }
  for (const name of results.keys()) {
    if (!used.has(name)) fail(RangeError, `${where(file, name)}: write() got a result for a weight the model does not have`);
  }
  // Under its base name, like the shards: the FileSet knows files by base name.
  files[baseName(file)] = new TextEncoder().encode(JSON.stringify({ ...json, weightsManifest: manifest }));
  return { files, notes };
}
