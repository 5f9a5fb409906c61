// ONNX TensorProto data: what a tensor holds (dtype, shape, where its bytes
// are: raw_data, the typed fields, or an external file), read as float32,
// and new tensors of our codes, scales and zero points.
import { create } from '@bufbuild/protobuf';
import { bfloat16ToFloat32, elementCount, fail, float16ToFloat32, LITTLE_ENDIAN, swapBytes, viewLittleEndian } from '../../formats/common.js';
import { requireFile } from '../files.js';
import { TensorProtoSchema, TensorProto_DataLocation } from './onnx_pb.js';

// TensorProto.DataType → our dtype name and bits per element.
const DTYPES = {
  1: { dtype: 'float32', bits: 32, Type: Float32Array },
  2: { dtype: 'uint8', bits: 8 },
  3: { dtype: 'int8', bits: 8 },
  4: { dtype: 'uint16', bits: 16 },
  5: { dtype: 'int16', bits: 16 },
  6: { dtype: 'int32', bits: 32 },
  7: { dtype: 'int64', bits: 64 },
  8: { dtype: 'string', bits: 0 },
  9: { dtype: 'bool', bits: 8 },
  10: { dtype: 'float16', bits: 16, Type: Uint16Array, widen: float16ToFloat32 },
  11: { dtype: 'float64', bits: 64, Type: Float64Array, widen: (x) => new Float32Array(x) },
  12: { dtype: 'uint32', bits: 32 },
  13: { dtype: 'uint64', bits: 64 },
  14: { dtype: 'complex64', bits: 64 },
  15: { dtype: 'complex128', bits: 128 },
  16: { dtype: 'bfloat16', bits: 16, Type: Uint16Array, widen: bfloat16ToFloat32 },
  17: { dtype: 'float8e4m3fn', bits: 8 },
  18: { dtype: 'float8e4m3fnuz', bits: 8 },
  19: { dtype: 'float8e5m2', bits: 8 },
  20: { dtype: 'float8e5m2fnuz', bits: 8 },
  21: { dtype: 'uint4', bits: 4 },
  22: { dtype: 'int4', bits: 4 },
  23: { dtype: 'float4e2m1', bits: 4 },
  24: { dtype: 'float8e8m0', bits: 8 },
  25: { dtype: 'uint2', bits: 2 },
  26: { dtype: 'int2', bits: 2 },
};

export const DATA_TYPE = Object.freeze(Object.fromEntries(Object.entries(DTYPES).map(([code, { dtype }]) => [dtype, Number(code)])));

const externalField = (tensor, key) => tensor.externalData.find((e) => e.key === key)?.value;

// A tensor's dtype, shape and element count, checked; `where` names it.
export function tensorInfo(tensor, where) {
  const info = DTYPES[tensor.dataType];
  if (!info) fail(RangeError, `${where}: unknown data_type ${tensor.dataType}`);
  const shape = tensor.dims.map((d, i) => {
    const n = Number(d);
    if (!Number.isSafeInteger(n) || n < 0) fail(RangeError, `${where}: dims[${i}] is ${d}, not a size`);
    return n;
  });
  const count = elementCount(shape, `${where}: shape`);
  const external = tensor.dataLocation === TensorProto_DataLocation.EXTERNAL;
  const byteLength = external ? Number(externalField(tensor, 'length') ?? 0) : storedBytes(tensor, info, count);
  return { ...info, shape, count, external, byteLength };
}

function storedBytes(tensor, info, count) {
  if (tensor.rawData.length > 0) return tensor.rawData.length;
  return Math.ceil((count * info.bits) / 8);
}

// The external file, offset and length of a tensor's bytes, checked
// against the file's size.
function externalSpan(tensor, info, set, where) {
  const location = externalField(tensor, 'location');
  if (!location) fail(RangeError, `${where}: external data without a location`);
  const file = requireFile(set, location, where);
  const offset = Number(externalField(tensor, 'offset') ?? 0);
  const needed = Math.ceil((info.count * info.bits) / 8);
  const length = Number(externalField(tensor, 'length') ?? needed);
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    fail(RangeError, `${where}: external data offset ${offset} or length ${length} is not a byte count`);
  }
  if (length !== needed) {
    fail(RangeError, `${where}: external data length is ${length} bytes, but shape ${JSON.stringify(info.shape)} of ${info.dtype} needs ${needed}`);
  }
  if (offset + length > file.size) {
    fail(RangeError, `${where}: external data ${location} has ${file.size} bytes, fewer than offset ${offset} + length ${length}`);
  }
  return { file, offset, length, location };
}

// The tensor's stored bytes (raw_data or external), or null when its
// values are in a typed field.
export async function storedData(tensor, info, set, where) {
  if (info.external) {
    const { file, offset, length } = externalSpan(tensor, info, set, where);
    return file.slice(offset, length);
  }
  if (tensor.rawData.length > 0) {
    const needed = Math.ceil((info.count * info.bits) / 8);
    if (tensor.rawData.length !== needed) {
      fail(
        RangeError,
        `${where}: raw_data has ${tensor.rawData.length} bytes, but shape ${JSON.stringify(info.shape)} of ${info.dtype} needs ${needed}`,
      );
    }
    return tensor.rawData;
  }
  return null;
}

function typedField(tensor, info, where) {
  const values = info.dtype === 'float32' ? tensor.floatData : info.dtype === 'float64' ? tensor.doubleData : tensor.int32Data;
  if (values.length !== info.count) {
    fail(RangeError, `${where}: holds ${values.length} values, but shape ${JSON.stringify(info.shape)} needs ${info.count}`);
  }
  return values;
}

// A float tensor's values as float32, from wherever they are stored.
export async function readFloat32(tensor, info, set, where) {
  const bytes = await storedData(tensor, info, set, where);
  if (bytes === null) {
    const values = typedField(tensor, info, where);
    return info.widen ? info.widen(info.Type.from(values)) : Float32Array.from(values);
  }
  // Read, never written: the weight is quantized and dropped.
  const data = viewLittleEndian(bytes, info.Type);
  return info.widen ? info.widen(data) : data;
}

// A new tensor of raw little-endian bytes.
export function rawTensor(name, dtype, dims, bytes) {
  return create(TensorProtoSchema, {
    name,
    dataType: DATA_TYPE[dtype],
    dims: dims.map((d) => BigInt(d)),
    rawData: bytes,
  });
}

// Typed array → its little-endian bytes (a view on little-endian hosts).
export function bytesOf(data) {
  const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (LITTLE_ENDIAN || data.BYTES_PER_ELEMENT === 1) return view;
  return swapBytes(view.slice(), data.BYTES_PER_ELEMENT);
}

// Two 4-bit codes per byte, the first in the low nibble (ONNX int4/uint4),
// into `out` when it has the length.
export function packNibbles(codes, into) {
  const n = codes.length;
  const out = into?.length === Math.ceil(n / 2) ? into : new Uint8Array(Math.ceil(n / 2));
  // Each byte written once: a read-modify-write of fresh memory costs twice.
  for (let j = 0, i = 0; i + 1 < n; j += 1, i += 2) out[j] = (codes[i] & 0xf) | ((codes[i + 1] & 0xf) << 4);
  if (n % 2 === 1) out[out.length - 1] = codes[n - 1] & 0xf;
  return out;
}
