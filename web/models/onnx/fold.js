// Folds the per-channel affine ops that follow a Conv or ConvTranspose
// (BatchNormalization, and Mul or Add by a constant holding one value or
// one per output channel) into its weight and bias, as onnxruntime's
// optimizer does for a float model and its quantization pre-processing
// does before calibration. In a QDQ model the weight is a DequantizeLinear
// output, which that optimizer no longer folds: without this the norm
// stays a float op between a Q/DQ pair, and costs a rounding of its own.
import { allGraphs, allNames, attributeOf, heldTensors, isDefaultDomain, readersByName, uniqueName } from './graph.js';
import { bytesOf, rawTensor, readFloat32, tensorInfo } from './tensors.js';
import { TensorProto_DataLocation } from './onnx_pb.js';

// The values of a float32 constant (initializer or Constant node) of the
// main graph as float64, with its shape, or null.
async function constantOf(name, held, set, modelName) {
  const site = held.get(name);
  if (!site) return null;
  const info = tensorInfo(site.tensor, `${modelName}: tensor "${name}"`);
  if (info.dtype !== 'float32') return null;
  return { shape: info.shape, values: new Float64Array(await readFloat32(site.tensor, info, set, `${modelName}: tensor "${name}"`)) };
}

// A constant's values per output channel of a rank-`rank` Conv output
// [N, M, ...] it broadcasts against without changing its shape: one value,
// or M along dimension 1 and 1 elsewhere. Else null.
function perChannel(constant, channels, rank) {
  const { shape, values } = constant;
  if (shape.length > rank) return null;
  const c = 1 - (rank - shape.length);
  if (shape.some((d, i) => d !== 1 && !(i === c && d === channels))) return null;
  return values.length === 1 ? new Float64Array(channels).fill(values[0]) : values;
}

// y = a · x + b per channel for reader r of x (input `index`), or null.
async function affineOf(r, index, channels, rank, constant) {
  if (!isDefaultDomain(r.domain)) return null;
  if (r.opType === 'BatchNormalization') {
    if (index !== 0 || r.output.filter(Boolean).length !== 1 || Number(attributeOf(r, 'training_mode')?.i ?? 0) !== 0) return null;
    const params = await Promise.all(r.input.slice(1, 5).map(constant));
    if (params.length !== 4 || params.some((p) => p === null || p.values.length !== channels || p.shape.length !== 1)) return null;
    const [scale, bias, mean, variance] = params.map((p) => p.values);
    const epsilon = attributeOf(r, 'epsilon')?.f ?? 1e-5;
    const a = scale.map((s, m) => s / Math.sqrt(variance[m] + epsilon));
    return { a, b: bias.map((v, m) => v - mean[m] * a[m]), params: r.input.slice(1, 5) };
  }
  if ((r.opType !== 'Mul' && r.opType !== 'Add') || r.input.length !== 2 || r.input[0] === r.input[1]) return null;
  const other = r.input[1 - index];
  const c = await constant(other);
  const values = c && perChannel(c, channels, rank);
  if (!values) return null;
  if (r.opType === 'Mul') return { a: values, b: new Float64Array(channels), params: [other] };
  return { a: new Float64Array(channels).fill(1), b: values, params: [other] };
}

function setFloat32(tensor, values) {
  tensor.dataType = 1;
  tensor.rawData = bytesOf(values);
  tensor.floatData = [];
  tensor.externalData = [];
  tensor.dataLocation = TensorProto_DataLocation.DEFAULT;
}

// The Conv or ConvTranspose (one group) that can take a fold: its weight
// and bias float32 constants read by it alone. { channels, rank, inner }:
// the weight is runs of `inner` values, one output channel each, the
// channels in turn (a ConvTranspose's [C, M, ...] repeats them C times).
function foldable(n, held, readers) {
  if (!isDefaultDomain(n.domain) || (n.opType !== 'Conv' && n.opType !== 'ConvTranspose')) return null;
  const group = Number(attributeOf(n, 'group')?.i ?? 1);
  if (n.opType === 'ConvTranspose' && group !== 1) return null;
  const own = (name) => held.has(name) && readers.get(name)?.length === 1;
  if (!own(n.input[1]) || (n.input[2] && !own(n.input[2]))) return null;
  const weight = held.get(n.input[1]).tensor;
  // float32 only: a float16 weight would lose the fold in its own rounding.
  if (weight.dataType !== 1 || (n.input[2] && held.get(n.input[2]).tensor.dataType !== 1)) return null;
  const shape = weight.dims.map(Number);
  if (shape.length < 3) return null;
  const axis = n.opType === 'Conv' ? 0 : 1;
  const inner = shape.slice(axis + 1).reduce((p, d) => p * d, 1);
  return { channels: shape[axis], rank: shape.length, inner };
}

// The weight with each output channel's run of values scaled by a[channel]
// (a loop: TypedArray.from with a map function is many times slower).
function scaledWeight(values, a, { channels, inner }) {
  const out = new Float32Array(values.length);
  for (let start = 0, run = 0; start < values.length; start += inner, run += 1) {
    const factor = a[run % channels];
    for (let i = start; i < start + inner; i += 1) out[i] = values[i] * factor;
  }
  return out;
}

// Removes the constants only folded ops read.
function dropUnread(model, names) {
  const g = model.graph;
  const readers = readersByName(allGraphs(g));
  const outputs = new Set(g.output.map((o) => o.name));
  const dead = new Set([...names].filter((n) => !readers.has(n) && !outputs.has(n)));
  g.initializer = g.initializer.filter((t) => !dead.has(t.name));
  g.input = g.input.filter((v) => !dead.has(v.name));
  g.node = g.node.filter((n) => n.opType !== 'Constant' || !dead.has(n.output[0]));
}

/**
 * Folds in place, but nodes for which skip(node) holds; resolves to
 * { BatchNormalization, Mul, Add }: how many of each were folded away.
 */
export async function foldIntoConvs(model, set, modelName, skip = () => false) {
  const g = model.graph;
  const graphs = allGraphs(g);
  const readers = readersByName(graphs);
  const held = new Map(heldTensors([graphs[0]]).map((s) => [s.name, s]));
  const outputs = new Set(g.output.map((o) => o.name));
  const inMain = new Set(g.node);
  const constant = (name) => constantOf(name, held, set, modelName);
  const names = allNames(graphs);
  const counts = { BatchNormalization: 0, Mul: 0, Add: 0 };
  const removed = new Set();
  const gone = new Set(); // the Convs' former outputs
  const params = new Set();
  for (const n of g.node) {
    const conv = !skip(n) && foldable(n, held, readers);
    if (!conv) continue;
    let a = new Float64Array(conv.channels).fill(1);
    let b = n.input[2] ? (await constant(n.input[2]))?.values : new Float64Array(conv.channels);
    if (!b || b.length !== conv.channels) continue;
    let folded = false;
    for (;;) {
      const out = n.output[0];
      const uses = readers.get(out);
      if (outputs.has(out) || uses?.length !== 1 || !inMain.has(uses[0].node)) break;
      const { node: r, index } = uses[0];
      const step = !skip(r) && (await affineOf(r, index, conv.channels, conv.rank, constant));
      if (!step) break;
      a = a.map((v, m) => v * step.a[m]);
      b = b.map((v, m) => v * step.a[m] + step.b[m]);
      step.params.forEach((p) => params.add(p));
      gone.add(out);
      n.output[0] = r.output[0];
      removed.add(r);
      counts[r.opType] += 1;
      folded = true;
    }
    if (!folded) continue;
    const weight = held.get(n.input[1]).tensor;
    const w = await constant(n.input[1]);
    setFloat32(weight, scaledWeight(w.values, a, conv));
    const bias = Float32Array.from(b);
    if (n.input[2]) {
      setFloat32(held.get(n.input[2]).tensor, bias);
    } else {
      const name = uniqueName(names, `${n.input[1]}_bias`);
      g.initializer.push(rawTensor(name, 'float32', [bias.length], bytesOf(bias)));
      n.input[2] = name;
    }
  }
  g.node = g.node.filter((n) => !removed.has(n));
  g.valueInfo = g.valueInfo.filter((v) => !gone.has(v.name));
  dropUnread(model, params);
  return counts;
}
