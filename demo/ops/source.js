// The file the worker holds: its tensors, next to the quantizer, and the
// reports computed on them (cleared when the file changes).

export function fail(message) {
  throw new Error(message);
}

export const BYTES = { float32: 4, float16: 2, bfloat16: 2, float64: 8, uint8: 1, int8: 1, uint16: 2, int16: 2 };

let source = null; // { name, kind, tensors: Map(name → tensor) }

export const reports = new Map(); // analyze() results by tensor + options (small objects)

export function tensorOf(name, { data, dtype, shape }) {
  // The quantizer takes float32: other dtypes are widened (readers already
  // widen float16, bfloat16 and float64).
  const values = data instanceof Float32Array ? data : Float32Array.from(data);
  return { name, dtype, shape: [...shape], data: values, bytes: values.length * (BYTES[dtype] ?? 4) };
}

export function describeSource() {
  return {
    name: source.name,
    kind: source.kind,
    metadata: source.metadata ?? {},
    tensors: [...source.tensors.values()].map((t) => ({
      name: t.name,
      dtype: t.dtype,
      shape: t.shape,
      count: t.data.length,
      bytes: t.bytes,
    })),
  };
}

export function replaceSource(next) {
  source = next;
  reports.clear();
  return describeSource();
}

export function tensor(name) {
  const t = source?.tensors.get(name);
  if (!t) fail(`no tensor "${name}" is loaded`);
  if (t.data.length === 0) fail(`tensor "${name}" is empty (shape [${t.shape.join(', ')}]): nothing to quantize`);
  return t;
}

export function loadedSource() {
  return source;
}
