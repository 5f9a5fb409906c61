// What TF.js can store (one uint8/uint16 scale and min per tensor) and
// the written model: model.json plus shards re-cut at 4 MB.
import { describe, fail, isPlainObject, LITTLE_ENDIAN, swapBytes, typedArrayName } from '../../formats/common.js';
import { EncodingTable } from '../../rows.js';
import { baseName } from '../files.js';
import { SHARD_BYTES, isFloatWeight, where } from './manifest.js';

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
    return {
      action: 'keep',
      reason: `TF.js stores codes of up to 16 bits, not ${decision.bitwidth}`,
      note: `bitwidth ${decision.bitwidth} not storable; kept`,
    };
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
    changes.push(
      `${out.bitwidth}-bit codes stored in ${container} (they use ${2 ** out.bitwidth} of its ${container === 'uint8' ? 256 : 65536} values; the file is no smaller than ${container === 'uint8' ? 8 : 16}-bit)`,
    );
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
  // The driver hands { encodings: a table of one row }, the core { encoding }.
  const { codes } = result ?? {};
  const table = result?.encodings;
  const encoding = result?.encoding ?? (table instanceof EncodingTable && table.length === 1 ? table.at(0) : table);
  if (!isPlainObject(encoding))
    fail(TypeError, `${what}: the result needs one encoding object (TF.js stores one per tensor), got ${describe(encoding)}`);
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

export async function writeModel(json, file, groups, results) {
  if (!(results instanceof Map)) fail(TypeError, `write() takes a Map from weight name to result, got ${describe(results)}`);
  const files = {};
  const notes = [];
  const used = new Set();
  const manifest = [];
  for (const [g, group] of groups.entries()) {
    const { shards, entries, total } = await writeGroup(group, g, results, file, used);
    for (const shard of shards) {
      if (shard.name === baseName(file) || Object.hasOwn(files, shard.name))
        fail(RangeError, `${file}: the new shard name ${describe(shard.name)} is taken`);
      files[shard.name] = shard.bytes;
    }
    manifest.push({ ...json.weightsManifest[g], paths: shards.map((s) => s.name), weights: entries });
    notes.push(
      `weightsManifest[${g}]: ${group.reader.size} bytes in ${group.paths.length} shard(s) → ${total} bytes in ${shards.length} shard(s) of at most 4 MB`,
    );
  }
  for (const name of results.keys()) {
    if (!used.has(name)) fail(RangeError, `${where(file, name)}: write() got a result for a weight the model does not have`);
  }
  // Under its base name, like the shards: the FileSet knows files by base name.
  files[baseName(file)] = new TextEncoder().encode(JSON.stringify({ ...json, weightsManifest: manifest }));
  return { files, notes };
}
