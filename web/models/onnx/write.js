// Serialises a rewritten model: tensors inline, or (for models that came
// with external data, or would pass protobuf's 2 GiB limit) every tensor of
// 1 KiB or more in one external data file beside the model.
import { fail } from '../../formats/common.js';
import { StringStringEntryProtoSchema, TensorProto_DataLocation } from './onnx_pb.js';
import { create } from '@bufbuild/protobuf';
import { allGraphs, heldTensors } from './graph.js';
import { layoutOf, serializeModel } from './serialize.js';
import { storedData, tensorInfo } from './tensors.js';

const EXTERNAL_THRESHOLD = 1024;
// Protobuf messages cannot pass 2 GiB; leave room for the graph itself.
const INLINE_LIMIT = 2 ** 31 - 2 ** 26;
const ALIGNMENT = 64;

const entry = (key, value) => create(StringStringEntryProtoSchema, { key, value: String(value) });

// The bytes of every tensor the model holds, external ones read now.
async function tensorBytes(sites, set, modelName) {
  const out = [];
  for (const site of sites) {
    const where = `${modelName}: ${site.path}: tensor "${site.name}"`;
    const info = tensorInfo(site.tensor, where);
    const bytes = await storedData(site.tensor, info, set, where);
    out.push({ site, bytes });
  }
  return out;
}

// The external data files a model's tensors name.
export function externalLocations(tensors) {
  const locations = new Set();
  for (const tensor of tensors) {
    if (tensor.dataLocation !== TensorProto_DataLocation.EXTERNAL) continue;
    const location = tensor.externalData.find((e) => e.key === 'location')?.value;
    if (location) locations.add(location);
  }
  return locations;
}

function inline(tensor, bytes) {
  tensor.rawData = bytes;
  tensor.dataLocation = TensorProto_DataLocation.DEFAULT;
  tensor.externalData = [];
}

// The model with every external tensor read into it, for a runtime given
// the model as bytes (onnxruntime then looks for the data files on disk).
export async function inlineExternalData(model, set, modelName) {
  const sites = heldTensors(allGraphs(model.graph)).filter((s) => s.tensor.dataLocation === TensorProto_DataLocation.EXTERNAL);
  const all = await tensorBytes(sites, set, modelName);
  const total = all.reduce((a, { bytes }) => a + bytes.length, 0);
  if (total > INLINE_LIMIT) {
    fail(
      RangeError,
      `${modelName}: its external data (${total} bytes) does not fit one protobuf message (2 GiB), which is how onnxruntime is given the model to calibrate`,
    );
  }
  for (const { site, bytes } of all) inline(site.tensor, bytes);
}

const totalOf = (all) => all.reduce((a, { bytes }) => a + (bytes?.length ?? 0), 0);

// Where writeModel would put the big tensors' bytes in the model file
// (serialize.js's layoutOf); null when some would go to external data.
export async function inlineLayout(model, modelName, sites, set, { mode, locations }) {
  if (mode === true || locations.size > 0) return null;
  const all = await tensorBytes(sites, set, modelName);
  if (totalOf(all) > INLINE_LIMIT) return null;
  for (const { site, bytes } of all) if (bytes !== null) inline(site.tensor, bytes);
  return layoutOf(model);
}

// mode: true | false | 'auto'; locations: the external files the input
// model used (its one file's name is kept); sink: see serializeModel.
// Returns { files, notes }.
export async function writeModel(model, modelName, sites, set, { mode, locations, sink }) {
  const all = await tensorBytes(sites, set, modelName);
  const hadExternal = locations.size > 0;
  const total = totalOf(all);
  const external = mode === true || (mode === 'auto' && (hadExternal || total > INLINE_LIMIT));
  if (!external && total > INLINE_LIMIT) {
    fail(RangeError, `${modelName}: the quantized tensors take ${total} bytes, more than fits one protobuf file (2 GiB): use externalData: true`);
  }
  const notes = [];
  const files = {};
  if (!external) {
    for (const { site, bytes } of all) if (bytes !== null) inline(site.tensor, bytes);
  } else {
    const dataName = locations.size === 1 ? [...locations][0] : `${modelName}.data`;
    const parts = [];
    let offset = 0;
    for (const { site, bytes } of all) {
      if (bytes === null) continue;
      if (bytes.length < EXTERNAL_THRESHOLD) {
        inline(site.tensor, bytes);
        continue;
      }
      offset = Math.ceil(offset / ALIGNMENT) * ALIGNMENT;
      parts.push({ offset, bytes });
      site.tensor.rawData = new Uint8Array(0);
      site.tensor.dataLocation = TensorProto_DataLocation.EXTERNAL;
      site.tensor.externalData = [entry('location', dataName), entry('offset', offset), entry('length', bytes.length)];
      offset += bytes.length;
    }
    const data = new Uint8Array(offset);
    for (const part of parts) data.set(part.bytes, part.offset);
    files[dataName] = data;
    notes.push(`tensors of ${EXTERNAL_THRESHOLD} bytes or more are in the external data file ${dataName}`);
  }
  files[modelName] = serializeModel(model, external ? undefined : sink);
  return { files, notes };
}
