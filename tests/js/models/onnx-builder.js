// Small ONNX models built in the tests (protobuf-es + the official schema),
// for the edge cases no shipped model has: every op family, subgraphs,
// Constant nodes, float16 and external data.
import { create, toBinary } from '@bufbuild/protobuf';
import {
  AttributeProtoSchema,
  AttributeProto_AttributeType,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  StringStringEntryProtoSchema,
  TensorProtoSchema,
  TensorProto_DataLocation,
  TensorProto_DataType,
  TypeProtoSchema,
  TypeProto_TensorSchema,
  TensorShapeProtoSchema,
  TensorShapeProto_DimensionSchema,
  ValueInfoProtoSchema,
} from '../../../web/models/onnx/onnx_pb.js';
import { mulberry32 } from '../helpers.js';

export const T = TensorProto_DataType;

export function valueInfo(name, dims, elemType = T.FLOAT) {
  const shape = create(TensorShapeProtoSchema, {
    dim: dims.map((d) =>
      create(TensorShapeProto_DimensionSchema, {
        value: typeof d === 'string' ? { case: 'dimParam', value: d } : { case: 'dimValue', value: BigInt(d) },
      }),
    ),
  });
  return create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, { value: { case: 'tensorType', value: create(TypeProto_TensorSchema, { elemType, shape }) } }),
  });
}

export function attr(name, value) {
  const a = { name };
  if (typeof value === 'number' && Number.isInteger(value)) Object.assign(a, { type: AttributeProto_AttributeType.INT, i: BigInt(value) });
  else if (typeof value === 'number') Object.assign(a, { type: AttributeProto_AttributeType.FLOAT, f: value });
  else if (typeof value === 'string') Object.assign(a, { type: AttributeProto_AttributeType.STRING, s: new TextEncoder().encode(value) });
  else if (Array.isArray(value)) Object.assign(a, { type: AttributeProto_AttributeType.INTS, ints: value.map(BigInt) });
  else if (value.$typeName === 'onnx.GraphProto') Object.assign(a, { type: AttributeProto_AttributeType.GRAPH, g: value });
  else Object.assign(a, { type: AttributeProto_AttributeType.TENSOR, t: value });
  return create(AttributeProtoSchema, a);
}

export function node(opType, input, output, attrs = {}, domain = '') {
  return create(NodeProtoSchema, {
    opType,
    input,
    output,
    name: `${opType}_${output[0]}`,
    domain,
    attribute: Object.entries(attrs).map(([k, v]) => attr(k, v)),
  });
}

// Random weights in [-1, 1) with a few outliers, from a seed.
export function randomWeights(count, seed = 1) {
  const rand = mulberry32(seed);
  const x = new Float32Array(count);
  for (let i = 0; i < count; i += 1) x[i] = (rand() * 2 - 1) * (i % 97 === 0 ? 3 : 1);
  return x;
}

function float32ToFloat16Bits(x) {
  const f = new Float32Array([x]);
  const b = new Uint32Array(f.buffer)[0];
  const sign = (b >>> 16) & 0x8000;
  const e = ((b >>> 23) & 0xff) - 127 + 15;
  const m = b & 0x7fffff;
  if (e <= 0) return sign; // tests use no subnormal halves
  if (e >= 31) return sign | 0x7c00;
  const half = sign | (e << 10) | (m >> 13);
  return (m & 0x1fff) > 0x1000 || ((m & 0x1fff) === 0x1000 && half & 1) ? half + 1 : half;
}

// A float tensor, float32 or float16, in raw_data (default), float_data,
// or external ({ external: { location, offset } } records where it goes).
export function floatTensor(name, dims, values, { dtype = 'float32', field = 'raw' } = {}) {
  const t = { name, dims: dims.map(BigInt) };
  if (dtype === 'float16') {
    const halves = Uint16Array.from(values, float32ToFloat16Bits);
    Object.assign(t, { dataType: T.FLOAT16 }, field === 'raw' ? { rawData: new Uint8Array(halves.buffer) } : { int32Data: Array.from(halves) });
  } else {
    Object.assign(
      t,
      { dataType: T.FLOAT },
      field === 'raw' ? { rawData: new Uint8Array(Float32Array.from(values).buffer) } : { floatData: Array.from(values) },
    );
  }
  return create(TensorProtoSchema, t);
}

export function int64Tensor(name, dims, values) {
  return create(TensorProtoSchema, {
    name,
    dims: dims.map(BigInt),
    dataType: T.INT64,
    rawData: new Uint8Array(BigInt64Array.from(values, BigInt).buffer),
  });
}

// Moves every tensor of at least minBytes raw bytes to one external file.
export function externalize(model, location, minBytes = 1024) {
  const parts = [];
  let offset = 0;
  for (const t of model.graph.initializer) {
    if (t.rawData.length < minBytes) continue;
    parts.push(t.rawData);
    t.externalData = [
      create(StringStringEntryProtoSchema, { key: 'location', value: location }),
      create(StringStringEntryProtoSchema, { key: 'offset', value: String(offset) }),
      create(StringStringEntryProtoSchema, { key: 'length', value: String(t.rawData.length) }),
    ];
    t.dataLocation = TensorProto_DataLocation.EXTERNAL;
    offset += t.rawData.length;
    t.rawData = new Uint8Array(0);
  }
  const data = new Uint8Array(offset);
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  return data;
}

export function graph({ nodes, inputs, outputs, initializers = [], name = 'g' }) {
  return create(GraphProtoSchema, { name, node: nodes, input: inputs, output: outputs, initializer: initializers });
}

export function model(g, { opset = 13, ir = 8, extra = [] } = {}) {
  return create(ModelProtoSchema, {
    irVersion: BigInt(ir),
    producerName: 'wasmquant-tests',
    graph: g,
    opsetImport: [{ domain: '', version: opset }, ...extra].map(({ domain, version }) =>
      create(OperatorSetIdProtoSchema, { domain, version: BigInt(version) }),
    ),
  });
}

export const encode = (m) => toBinary(ModelProtoSchema, m);

// x [1, K] → MatMul(W [K, N]) → Gemm(W2 [N, M], transB 0) → y.
export function mlp({ K = 64, N = 48, M = 40, seed = 1, dtype = 'float32', opset = 13 } = {}) {
  const elem = dtype === 'float16' ? T.FLOAT16 : T.FLOAT;
  return model(
    graph({
      nodes: [node('MatMul', ['x', 'W1'], ['h']), node('Gemm', ['h', 'W2', 'b2'], ['y'])],
      inputs: [valueInfo('x', [1, K], elem)],
      outputs: [valueInfo('y', [1, M], elem)],
      initializers: [
        floatTensor('W1', [K, N], randomWeights(K * N, seed), { dtype }),
        floatTensor('W2', [N, M], randomWeights(N * M, seed + 1), { dtype }),
        floatTensor('b2', [M], randomWeights(M, seed + 2), { dtype }),
      ],
    }),
    { opset },
  );
}
