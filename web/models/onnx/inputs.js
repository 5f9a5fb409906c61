// The inputs a caller feeds an ONNX graph: its inputs that no initializer
// gives a default, with onnxruntime's names for their element types and
// their dimensions (a number, the name of a symbolic dimension, or null).
import { TensorProto_DataType } from './onnx_pb.js';

const ORT_TYPES = {
  FLOAT: 'float32',
  DOUBLE: 'float64',
  FLOAT16: 'float16',
  BFLOAT16: 'bfloat16',
  UINT8: 'uint8',
  INT8: 'int8',
  UINT16: 'uint16',
  INT16: 'int16',
  UINT32: 'uint32',
  INT32: 'int32',
  UINT64: 'uint64',
  INT64: 'int64',
  BOOL: 'bool',
  STRING: 'string',
};

function dimOf(d) {
  if (d.value.case === 'dimValue') return Number(d.value.value);
  if (d.value.case === 'dimParam' && d.value.value !== '') return d.value.value;
  return null;
}

/** [{ name, type, dims }]; type is undefined for a non-tensor input, dims null when the shape is unknown. */
export function graphInputs(graph) {
  const initializers = new Set(graph?.initializer.map((t) => t.name));
  return (graph?.input ?? [])
    .filter((vi) => !initializers.has(vi.name))
    .map((vi) => {
      const tt = vi.type?.value?.case === 'tensorType' ? vi.type.value.value : undefined;
      const dims = tt?.shape ? tt.shape.dim.map(dimOf) : null;
      return { name: vi.name, type: tt ? ORT_TYPES[TensorProto_DataType[tt.elemType]] : undefined, dims };
    });
}
