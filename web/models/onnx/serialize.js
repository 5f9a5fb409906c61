// A ModelProto's bytes, written into one buffer of the exact size. The big
// raw_data of the main graph's initializers (almost all of a model's bytes)
// is copied once, straight into place: protobuf-es's writer would copy it
// into growing chunks and then join them, touching twice as much fresh
// memory, which costs more than the copying here (bench/models.js).
//
// Protobuf readers take fields in any order (and the elements of a repeated
// field in the order they come), so the initializers from the first big one
// on go last in the graph, raw_data last in each big one and the graph last
// in the model: parsing the bytes gives back the same message.
import { clearField, toBinary } from '@bufbuild/protobuf';
import { GraphProtoSchema, ModelProtoSchema, TensorProtoSchema } from './onnx_pb.js';

const BIG = 1 << 16;
const LENGTH_DELIMITED = 2;
// Field numbers of onnx.proto.
const MODEL_GRAPH = 7;
const GRAPH_INITIALIZER = 5;
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

function tensorHead(tensor) {
  const raw = tensor.rawData;
  return binaryWithout(TensorProtoSchema, tensor, () => {
    clearField(tensor, TensorProtoSchema.field.rawData);
    return () => {
      tensor.rawData = raw;
    };
  });
}

export function serializeModel(model) {
  const graph = model.graph;
  const first = graph ? graph.initializer.findIndex((t) => t.rawData.length >= BIG) : -1;
  if (first < 0) return toBinary(ModelProtoSchema, model);
  // The initializers from the first big one on go last, in their order.
  const all = graph.initializer;
  const parts = all.slice(first).map((t) => {
    const big = t.rawData.length >= BIG;
    const head = big ? tensorHead(t) : toBinary(TensorProtoSchema, t);
    const raw = big ? t.rawData : null;
    return { head, raw, length: head.length + (raw ? prefixSize(raw.length) + raw.length : 0) };
  });
  const graphHead = binaryWithout(GraphProtoSchema, graph, () => {
    graph.initializer = all.slice(0, first);
    return () => {
      graph.initializer = all;
    };
  });
  const modelHead = binaryWithout(ModelProtoSchema, model, () => {
    clearField(model, ModelProtoSchema.field.graph);
    return () => {
      model.graph = graph;
    };
  });
  const graphLength = parts.reduce((n, p) => n + prefixSize(p.length) + p.length, graphHead.length);
  const out = new Uint8Array(modelHead.length + prefixSize(graphLength) + graphLength);
  out.set(modelHead);
  let at = writePrefix(out, modelHead.length, MODEL_GRAPH, graphLength);
  out.set(graphHead, at);
  at += graphHead.length;
  for (const { head, raw, length } of parts) {
    at = writePrefix(out, at, GRAPH_INITIALIZER, length);
    out.set(head, at);
    at += head.length;
    if (raw) {
      at = writePrefix(out, at, TENSOR_RAW_DATA, raw.length);
      out.set(raw, at);
      at += raw.length;
    }
  }
  return out;
}
