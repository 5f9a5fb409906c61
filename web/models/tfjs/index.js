// The TF.js adapter of wasmquant/models: reads a model.json (layers or graph
// model) and its weight shards, names each weight's op and role for the
// driver, and writes the model back with TF.js's own manifest quantization
// ({ dtype: 'uint8' | 'uint16', scale, min } per tensor), which tfjs-core
// dequantizes on load as v * scale + min. The format was learnt from the
// tfjs-core io docs and sources; no tfjs code is used here.
import { decodeUtf8, describe, fail, isPlainObject, parseJson } from '../../formats/common.js';
import { requireFile } from '../files.js';
import { decodeFloats, groupReader, groupShards, isFloatWeight, readEntry, shardList, stringByteLength, where } from './manifest.js';
import { graphConsumers, kerasLayers, kerasUse, modelKind, strongest } from './topology.js';
import { constrain, writeModel } from './write.js';

export { SHARD_BYTES } from './manifest.js';
export { constrain } from './write.js';

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
  const useOf =
    kind === 'graph-model'
      ? (
          (consumers) => (name) =>
            strongest(consumers(name))
        )(graphConsumers(json))
      : (
          (layers) => (name) =>
            kerasUse(layers, name)
        )(kerasLayers(json.modelTopology));

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
      const shortError = (needed) =>
        fail(
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
        rawFloat32: async () => (w.dtype === 'float32' && !w.quantized ? reader.read(start, byteLength) : null),
      };
      weights.push(weight);
      placed.push({ weight, entry, start, byteLength });
    }
    groups.push({ reader, placed, paths: group.paths, used: offset });
  }

  const notes = [];
  if (alreadyQuantized) {
    notes.push(
      `${alreadyQuantized} of ${weights.length} weights are already stored uint8/uint16-quantized in the manifest (re-quantizing them rounds a second time)`,
    );
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
