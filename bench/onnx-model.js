// A one-node ONNX model, DynamicQuantizeLinear(x: float[n]) -> (y: uint8[n],
// y_scale: float, y_zero_point: uint8), written as protobuf bytes by hand so
// the benchmark needs no protobuf library and no model file on disk.
//
// Only the wire types this needs: varint (0) and length-delimited (2).
// Field numbers are those of onnx/onnx.proto (IR version 7, opset 13).

const utf8 = new TextEncoder();

function varint(value) {
  const bytes = [];
  let v = BigInt(value);
  if (v < 0n) throw new RangeError('onnx-model: negative varints are not needed here');
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    bytes.push(byte);
  } while (v !== 0n);
  return bytes;
}

const key = (field, wireType) => varint((field << 3) | wireType);

// A message is an array of already-encoded fields (arrays of bytes).
const intField = (field, value) => [...key(field, 0), ...varint(value)];
function bytesField(field, bytes) {
  return [...key(field, 2), ...varint(bytes.length), ...bytes];
}
const stringField = (field, text) => bytesField(field, utf8.encode(text));
const messageField = (field, parts) => bytesField(field, parts.flat());

const FLOAT = 1;
const UINT8 = 2;

// ValueInfoProto { name = 1; type = 2 }, TypeProto { tensor_type = 1 },
// TypeProto.Tensor { elem_type = 1; shape = 2 }, TensorShapeProto { dim = 1 },
// Dimension { dim_value = 1 }. An empty shape is a scalar.
function valueInfo(name, elemType, dims) {
  const shape = dims.map((d) => messageField(1, [intField(1, d)]));
  const tensorType = [intField(1, elemType), messageField(2, shape)];
  return [stringField(1, name), messageField(2, [messageField(1, tensorType)])];
}

export function dynamicQuantizeLinearModel(n) {
  // NodeProto { input = 1; output = 2; name = 3; op_type = 4 }
  const node = [
    stringField(1, 'x'),
    stringField(2, 'y'),
    stringField(2, 'y_scale'),
    stringField(2, 'y_zero_point'),
    stringField(3, 'dql'),
    stringField(4, 'DynamicQuantizeLinear'),
  ];
  // GraphProto { node = 1; name = 2; input = 11; output = 12 }
  const graph = [
    messageField(1, node),
    stringField(2, 'wasmquant_bench'),
    messageField(11, valueInfo('x', FLOAT, [n])),
    messageField(12, valueInfo('y', UINT8, [n])),
    messageField(12, valueInfo('y_scale', FLOAT, [])),
    messageField(12, valueInfo('y_zero_point', UINT8, [])),
  ];
  // ModelProto { ir_version = 1; producer_name = 2; graph = 7; opset_import = 8 },
  // OperatorSetIdProto { domain = 1; version = 2 }
  const model = [intField(1, 7), stringField(2, 'wasmquant-bench'), messageField(7, graph), messageField(8, [stringField(1, ''), intField(2, 13)])];
  return new Uint8Array(model.flat());
}
