// A ModelProto's bytes, written into one buffer of the exact size. The big
// raw_data of the main graph's tensors (almost all of a model's bytes:
// initializers, and the `value` of Constant nodes, where exporters such as
// Paddle's put every weight) is copied once, straight into place.
// protobuf-es's writer grows one buffer by doubling and shifts each nested
// message longer than 127 bytes into place when it knows its length, so
// each raw_data is copied once per level of nesting into ever fresh memory,
// which costs more than the copying here (bench/models.js).
//
// A caller may give the buffer to write into (serializeModel's `sink`),
// with some raw_data already in it where it will land (codes the core wrote
// there): those are not copied. The sink is used only when the message has
// its length and every raw_data within the sink is exactly in place;
// otherwise the bytes go to a fresh buffer, so a wrong prediction of the
// layout costs memory, never correctness.
//
// Protobuf readers take fields in any order (and the elements of a repeated
// field in the order they come), so the nodes go last in the graph, in
// their order, then the initializers from the first big one on, raw_data
// last in each big tensor and the graph last in the model: parsing the
// bytes gives back the same message.
import { clearField, create, toBinary } from '@bufbuild/protobuf';
import { AttributeProtoSchema, GraphProtoSchema, ModelProtoSchema, NodeProtoSchema, TensorProtoSchema } from './onnx_pb.js';

const BIG = 1 << 10;
const LENGTH_DELIMITED = 2;
// Field numbers of onnx.proto.
const MODEL_GRAPH = 7;
const GRAPH_NODE = 1;
const GRAPH_INITIALIZER = 5;
const NODE_ATTRIBUTE = 5;
const ATTRIBUTE_T = 5;
const TENSOR_RAW_DATA = 9;

const varintSize = (n) => {
  let size = 1;
  for (let v = n; v >= 0x80; v = Math.floor(v / 0x80)) size += 1;
  return size;
};

// A length-delimited field's tag and length (every tag here is one byte).
const prefixSize = (length) => 1 + varintSize(length);

function writePrefix(out, at, field, length) {
  let i = at;
  out[i++] = (field << 3) | LENGTH_DELIMITED;
  let v = length;
  while (v >= 0x80) {
    out[i++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  out[i++] = v;
  return i;
}

// toBinary of `message` with `apply` undone afterwards.
function binaryWithout(schema, message, apply) {
  const undo = apply();
  try {
    return toBinary(schema, message);
  } finally {
    undo();
  }
}

// A message to write: `head` (bytes of its other fields, tags included),
// then each of `fields`: { field, value } with raw bytes or another part
// as the value, or { framed }: bytes of whole fields, tags included.
const fieldSize = (f) => (f.framed ? f.framed.length : prefixSize(f.value.length) + f.value.length);
const part = (head, fields = []) => ({ head, fields, length: fields.reduce((n, f) => n + fieldSize(f), head.length) });

const inPlace = (out, value, at) => value.buffer === out.buffer && value.byteOffset === out.byteOffset + at;

function writePart(out, at, { head, fields }) {
  out.set(head, at);
  let i = at + head.length;
  for (const { field, value, framed } of fields) {
    if (framed) {
      out.set(framed, i);
      i += framed.length;
      continue;
    }
    i = writePrefix(out, i, field, value.length);
    if (value instanceof Uint8Array) {
      if (!inPlace(out, value, i)) out.set(value, i);
      i += value.length;
    } else {
      i = writePart(out, i, value);
    }
  }
  return i;
}

// Calls visit(value, at) for every raw value of a part written at `at`.
function eachRaw({ head, fields }, at, visit) {
  let i = at + head.length;
  for (const f of fields) {
    if (f.framed) {
      i += f.framed.length;
    } else if (f.value instanceof Uint8Array) {
      i += prefixSize(f.value.length);
      visit(f.value, i);
      i += f.value.length;
    } else {
      i = eachRaw(f.value, i + prefixSize(f.value.length), visit);
    }
  }
  return i;
}

function fitsIn(sink, modelPart) {
  if (sink?.length !== modelPart.length) return false;
  let fits = true;
  eachRaw(modelPart, 0, (value, at) => {
    if (value.buffer === sink.buffer && !inPlace(sink, value, at)) fits = false;
  });
  return fits;
}

const isBig = (tensor) => tensor?.rawData.length >= BIG;
const holdsBig = (node) => node.attribute.some((a) => isBig(a.t));

function tensorPart(tensor) {
  const raw = tensor.rawData;
  const head = binaryWithout(TensorProtoSchema, tensor, () => {
    clearField(tensor, TensorProtoSchema.field.rawData);
    return () => {
      tensor.rawData = raw;
    };
  });
  return part(head, [{ field: TENSOR_RAW_DATA, value: raw }]);
}

// A node whose attributes hold big tensors: its other fields, then those
// attributes, each its other fields and then its tensor.
function nodePart(node) {
  const all = node.attribute;
  const big = all.filter((a) => isBig(a.t));
  const head = binaryWithout(NodeProtoSchema, node, () => {
    node.attribute = all.filter((a) => !big.includes(a));
    return () => {
      node.attribute = all;
    };
  });
  const attributes = big.map((a) => {
    const t = a.t;
    const attributeHead = binaryWithout(AttributeProtoSchema, a, () => {
      clearField(a, AttributeProtoSchema.field.t);
      return () => {
        a.t = t;
      };
    });
    return { field: NODE_ATTRIBUTE, value: part(attributeHead, [{ field: ATTRIBUTE_T, value: tensorPart(t) }]) };
  });
  return part(head, attributes);
}

// The graph's nodes in order: runs of small ones written by toBinary of a
// graph holding just them (whose bytes are exactly their node fields), the
// others as parts.
function nodeFields(nodes) {
  const fields = [];
  let run = [];
  const flush = () => {
    if (run.length) fields.push({ framed: toBinary(GraphProtoSchema, create(GraphProtoSchema, { node: run })) });
    run = [];
  };
  for (const n of nodes) {
    if (holdsBig(n)) {
      flush();
      fields.push({ field: GRAPH_NODE, value: nodePart(n) });
    } else {
      run.push(n);
    }
  }
  flush();
  return fields;
}

// The model as a part, or null when it holds no big tensor (toBinary's).
function modelPartOf(model) {
  const graph = model.graph;
  const first = graph ? graph.initializer.findIndex(isBig) : -1;
  const bigNode = graph ? graph.node.some(holdsBig) : false;
  if (first < 0 && !bigNode) return null;
  const all = graph.initializer;
  const nodes = graph.node;
  const tail = first < 0 ? [] : all.slice(first);
  const graphHead = binaryWithout(GraphProtoSchema, graph, () => {
    graph.initializer = first < 0 ? all : all.slice(0, first);
    graph.node = [];
    return () => {
      graph.initializer = all;
      graph.node = nodes;
    };
  });
  const fields = [
    ...nodeFields(nodes),
    ...tail.map((t) => ({ field: GRAPH_INITIALIZER, value: isBig(t) ? tensorPart(t) : toBinary(TensorProtoSchema, t) })),
  ];
  const graphPart = part(graphHead, fields);
  const modelHead = binaryWithout(ModelProtoSchema, model, () => {
    clearField(model, ModelProtoSchema.field.graph);
    return () => {
      model.graph = graph;
    };
  });
  return part(modelHead, [{ field: MODEL_GRAPH, value: graphPart }]);
}

export function serializeModel(model, sink) {
  const modelPart = modelPartOf(model);
  if (modelPart === null) return toBinary(ModelProtoSchema, model);
  const out = fitsIn(sink, modelPart) ? sink : new Uint8Array(modelPart.length);
  writePart(out, 0, modelPart);
  return out;
}

// The length of the model's bytes and the offset in them of the raw_data
// of each big tensor (by the raw_data array); null when no tensor is big.
export function layoutOf(model) {
  const modelPart = modelPartOf(model);
  if (modelPart === null) return null;
  const offsets = new Map();
  eachRaw(modelPart, 0, (value, at) => offsets.set(value, at));
  return { length: modelPart.length, offsets };
}
