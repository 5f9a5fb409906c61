// The ONNX adapter of the models driver: opens a model (protobuf-es and the
// official onnx.proto), lists every float tensor it holds with the op that
// reads it, fits each decision to what ONNX can store, and writes the QDQ
// or MatMulNBits model.
import { fromBinary } from '@bufbuild/protobuf';
import { fail } from '../../formats/common.js';
import { opFamily } from '../decide.js';
import { requireFile } from '../files.js';
import { allGraphs, allNames, heldTensors, readersByName, usageOf } from './graph.js';
import { graphInputs } from './inputs.js';
import { addMatMulNBits, nbitsFor, packedLength } from './matmulnbits.js';
import { ModelProtoSchema } from './onnx_pb.js';
import { defaultOpset, upgradeOpset } from './opset.js';
import { addDequantize, codesIn, opsetFor, replaceSite, storageBits, storageFor } from './qdq.js';
import { activationStorage, addActivationQdq, biasCodes, biasDequantize } from './static.js';
import { readFloat32, storedData, tensorInfo } from './tensors.js';
import { externalLocations, inlineLayout, writeModel } from './write.js';

function decode(bytes, name) {
  let model;
  try {
    model = fromBinary(ModelProtoSchema, bytes);
  } catch (e) {
    fail(RangeError, `${name} is not a valid ONNX model (${e.message})`);
  }
  if (!model.graph) fail(RangeError, `${name} has no graph: not an ONNX model`);
  return model;
}

// The graph that holds every reader of a site's tensor, if one does.
function homeOf(site, readers, graphOfNode) {
  const graphs = new Set((readers.get(site.name) ?? []).map((r) => graphOfNode.get(r.node)));
  return graphs.size === 1 ? [...graphs][0] : site.graph;
}

function siteOf(site, readers, set, modelName) {
  const where = `${modelName}: ${site.path}: tensor "${site.name}"`;
  const info = tensorInfo(site.tensor, where);
  const usage = usageOf(readers.get(site.name), info.shape.length);
  const isFloat = info.widen !== undefined || info.dtype === 'float32';
  const weight = {
    name: site.name,
    op: usage.op,
    role: usage.role,
    shape: info.shape,
    dtype: info.dtype,
    count: info.count,
    byteLength: info.byteLength,
    channelAxis: usage.channelAxis,
    blockAxis: usage.blockAxis,
    quantized: null,
    read: isFloat ? () => readFloat32(site.tensor, info, set, where) : null,
    rawFloat32: async () => (info.dtype === 'float32' ? storedData(site.tensor, info, set, where) : null),
  };
  return { ...site, info, where, weight };
}

function paramCount(w, d) {
  if (d.blockSize !== null) return (w.count / w.shape[d.axis]) * Math.ceil(w.shape[d.axis] / d.blockSize);
  return d.axis === null ? 1 : w.shape[d.axis];
}

export async function openOnnx(set, modelName, o) {
  return adapterOf(await requireFile(set, modelName, 'the model').bytes(), set, modelName, o);
}

function adapterOf(bytes, set, modelName, o) {
  const model = decode(bytes, modelName);
  const graphs = allGraphs(model.graph);
  const readers = readersByName(graphs);
  const graphOfNode = new Map(graphs.flatMap(({ graph }) => graph.node.map((n) => [n, graph])));
  const sites = heldTensors(graphs).map((site) => ({ ...siteOf(site, readers, set, modelName), home: homeOf(site, readers, graphOfNode) }));
  const locations = externalLocations(sites.map((s) => s.tensor));
  const format = o.format ?? 'qdq';
  const opset = defaultOpset(model);
  const nbitsEligible = (w) => format === 'matmulnbits' && opFamily(w.op) === 'MatMul' && w.shape.length === 2 && w.dtype === 'float32';

  function constrain(w, d) {
    if (d.action !== 'quantize') return d;
    if (nbitsEligible(w) && d.blockSize !== null && nbitsFor(d.bitwidth) !== null) {
      const bits = nbitsFor(d.bitwidth);
      const note = bits === d.bitwidth ? undefined : `${d.bitwidth}-bit codes in MatMulNBits bits=${bits}`;
      const params = paramCount(w, d);
      const bytesAfter = Math.ceil((w.count * bits) / 8) + params * 4 + (d.symmetric ? 0 : Math.ceil((params * bits) / 8));
      return { ...d, target: 'matmulnbits', storage: `uint${bits}`, note, bytesAfter };
    }
    const storage = storageFor(d.bitwidth, d.symmetric);
    const bits = storageBits(storage);
    const needed = opsetFor(storage, d.axis !== null, d.blockSize !== null);
    const notesFor = d.note ? [d.note] : [];
    if (bits !== d.bitwidth) notesFor.push(`${d.bitwidth}-bit codes stored as ${storage}`);
    if (needed > opset) notesFor.push(`needs opset ${needed} (model: ${opset})`);
    const params = paramCount(w, d);
    const bytesAfter = Math.ceil((w.count * bits) / 8) + params * 4 + Math.ceil((params * bits) / 8);
    return { ...d, target: 'qdq', storage, opset: needed, note: notesFor.join('; ') || undefined, bytesAfter };
  }

  // Conv/Gemm biases as int32 where input and weight are both quantized.
  async function addBiases(results, encodingOf, byName, names) {
    // A snapshot: replacing an initializer puts its DequantizeLinear first.
    for (const n of allGraphs(model.graph).flatMap(({ graph }) => [...graph.node])) {
      if ((n.opType !== 'Conv' && n.opType !== 'Gemm') || n.input.length < 3) continue;
      const input = encodingOf.get(n.input[0]);
      const weight = results.get(n.input[1]);
      const site = byName.get(n.input[2]);
      if (!input || !weight || !site || results.has(site.name) || site.info.dtype !== 'float32' || site.info.shape.length !== 1) continue;
      if (readers.get(site.name)?.length !== 1 || weight.decision.blockSize !== null) continue;
      const codes = biasCodes(await site.weight.read(), input, weight.encodings);
      if (codes === null) continue;
      const { tensors, nodes } = biasDequantize(site.name, codes, names);
      replaceSite(site, tensors, nodes);
    }
  }

  // The model rewritten; returns the notes of an opset upgrade.
  async function rewrite(results, activations) {
    const byName = new Map(sites.map((s) => [s.name, s]));
    const activationOpsets = activations.map((a) => opsetFor(activationStorage(a.encoding), true, false));
    const needed = Math.max(opset, ...activationOpsets, ...[...results.values()].map((r) => r.decision.opset ?? 0));
    const written = [];
    if (needed > opset) {
      try {
        written.push(...upgradeOpset(model, needed));
      } catch (e) {
        fail(
          Error,
          `${modelName}: ${String(e.message).replace(/^wasmquant: /, '')}; quantize per tensor at 8 bits (opset ${Math.max(opset, 10)}) or convert the model to opset ${needed} first`,
        );
      }
    }
    if ([...results.values()].some((r) => r.decision.storage?.endsWith('4')) && model.irVersion < 10n) model.irVersion = 10n;
    const names = allNames(graphs);
    for (const [name, result] of results) {
      const site = byName.get(name);
      if (result.decision.target === 'matmulnbits') {
        addMatMulNBits(site, result, readers.get(name), names, model);
      } else {
        addDequantize(site, result, result.decision.storage, names, site.info.dtype === 'float32' ? null : site.info.dtype);
      }
    }
    if (activations.length > 0) {
      await addBiases(results, new Map(activations.map((a) => [a.name, a.encoding])), byName, names);
      // Each graph's pairs go after the values it computes (or its inputs).
      for (const { graph } of allGraphs(model.graph)) {
        const own = new Set([...graph.input.map((i) => i.name), ...graph.node.flatMap((n) => n.output)]);
        addActivationQdq(
          graph,
          activations.filter((a) => own.has(a.name)),
          names,
        );
      }
    }
    return written;
  }

  const writeOptions = { mode: o.externalData ?? 'auto', locations };

  // sink: the buffer of reserve's byte views.
  async function write(results, { activations = [], sink } = {}) {
    const written = await rewrite(results, activations);
    const out = await writeModel(model, modelName, heldTensors(allGraphs(model.graph)), set, { ...writeOptions, sink });
    return { files: out.files, notes: [...written, ...out.notes] };
  }

  // Where each quantized weight's codes will land in the written model:
  // predicted by rewriting a second decoding of the model (its raw_data
  // views of the same bytes) with untouched placeholder codes, and laying
  // it out. Returns { sink (the model file's buffer), places: Map name →
  // { bytes (the codes' bytes in sink), codes (a view of them the core can
  // write, or null) } }, or null where there is nothing to gain (external
  // data, a rewrite that fails). The codes that do land there are not
  // copied again (serializeModel); a wrong prediction costs a copy.
  async function reserve(decisions) {
    const shadow = adapterOf(bytes, set, modelName, o);
    const weights = new Map(shadow.weights.map((w) => [w.name, w]));
    const placeholders = new Map(
      [...decisions].map(([name, d]) => {
        const w = weights.get(name);
        const length = d.target === 'matmulnbits' ? packedLength(w.shape, d) : Math.ceil((w.count * storageBits(d.storage)) / 8);
        const codeBytes = new Uint8Array(length);
        return [name, { decision: d, codes: null, bytes: codeBytes, encodings: { length: paramCount(w, d) } }];
      }),
    );
    const layout = await shadow.layout(placeholders).catch(() => null);
    if (layout === null) return null;
    const sink = new Uint8Array(layout.length);
    const places = new Map();
    for (const [name, { decision, bytes: placeholder }] of placeholders) {
      const at = layout.offsets.get(placeholder);
      if (at === undefined) continue;
      const codeBytes = sink.subarray(at, at + placeholder.length);
      places.set(name, { bytes: codeBytes, codes: decision.target === 'qdq' ? codesIn(codeBytes, decision.storage) : null });
    }
    return { sink, places };
  }

  async function layout(results) {
    await rewrite(results, []);
    return inlineLayout(model, modelName, heldTensors(allGraphs(model.graph)), set, writeOptions);
  }

  return {
    format: format === 'matmulnbits' ? 'onnx-matmulnbits' : 'onnx-qdq',
    name: modelName,
    inputs: graphInputs(model.graph),
    weights: sites.map((s) => s.weight),
    notes: [],
    constrain,
    reserve,
    write,
    layout,
    defaults: {
      bitwidth: (w) => (nbitsEligible(w) ? 4 : 8),
      blockSize: (w) => (nbitsEligible(w) ? 32 : null),
    },
  };
}
