// Encodings (and per-channel reports) cross the wasm boundary as rows of
// float64 in wasm memory, the layout of bindings/embind.cpp's FromRows/ToRows
// (bitwidth, min, max, scale, offset, isSymmetric) and ChannelRows, rather
// than as Embind objects: a tensor quantized in blocks has a million
// encodings, and an Embind object costs microseconds each way.
const FIELDS = 6;
export const ROW_BYTES = FIELDS * 8;

const objectAt = (rows, r) => ({
  bitwidth: rows[r],
  min: rows[r + 1],
  max: rows[r + 2],
  scale: rows[r + 3],
  offset: rows[r + 4],
  isSymmetric: rows[r + 5] !== 0,
});

// The n encodings at byte address ptr, as plain objects.
export function readEncodingRows(m, ptr, n) {
  const rows = new Float64Array(m.HEAPU8.buffer, ptr, n * FIELDS);
  const list = new Array(n);
  for (let i = 0; i < n; i += 1) list[i] = objectAt(rows, i * FIELDS);
  return list;
}

// Encodings kept as rows in JS memory, for the many of a tensor quantized
// in blocks, which no caller needs as a million objects.
export class EncodingTable {
  constructor(rows) {
    this.rows = rows;
    this.length = rows.length / FIELDS;
  }

  static read(m, ptr, n) {
    return new EncodingTable(new Float64Array(m.HEAPU8.buffer, ptr, n * FIELDS).slice());
  }

  // A table of n rows to fill with readAt.
  static allocate(n) {
    return new EncodingTable(new Float64Array(n * FIELDS));
  }

  // Reads n rows at byte address ptr into rows start, ...; returns a table
  // viewing them.
  readAt(m, ptr, n, start) {
    const view = this.rows.subarray(start * FIELDS, (start + n) * FIELDS);
    view.set(new Float64Array(m.HEAPU8.buffer, ptr, n * FIELDS));
    return new EncodingTable(view);
  }

  static ofObjects(list) {
    const table = new EncodingTable(new Float64Array(list.length * FIELDS));
    list.forEach((e, i) => table.rows.set([e.bitwidth, e.min, e.max, e.scale, e.offset, e.isSymmetric ? 1 : 0], i * FIELDS));
    return table;
  }

  // The rows of `tables` one after another.
  static concat(tables) {
    const rows = new Float64Array(tables.reduce((n, t) => n + t.rows.length, 0));
    let at = 0;
    for (const t of tables) {
      rows.set(t.rows, at);
      at += t.rows.length;
    }
    return new EncodingTable(rows);
  }

  bitwidth(i) {
    return this.rows[i * FIELDS];
  }

  min(i) {
    return this.rows[i * FIELDS + 1];
  }

  max(i) {
    return this.rows[i * FIELDS + 2];
  }

  scale(i) {
    return this.rows[i * FIELDS + 3];
  }

  offset(i) {
    return this.rows[i * FIELDS + 4] + 0; // never -0
  }

  isSymmetric(i) {
    return this.rows[i * FIELDS + 5] !== 0;
  }

  at(i) {
    return objectAt(this.rows, i * FIELDS);
  }

  // A table of the rows order[0], order[1], ...
  pick(order) {
    const rows = new Float64Array(order.length * FIELDS);
    for (let i = 0; i < order.length; i += 1) {
      const from = order[i] * FIELDS;
      for (let f = 0; f < FIELDS; f += 1) rows[i * FIELDS + f] = this.rows[from + f];
    }
    return new EncodingTable(rows);
  }

  // One field of every row, as a Type array.
  column(field, Type) {
    const out = new Type(this.length);
    for (let i = 0; i < this.length; i += 1) out[i] = this[field](i);
    return out;
  }
}

const REPORT_FIELDS = 8;

// The per-channel reports at ptr (bindings/embind.cpp ChannelRows), one per
// encoding, as the channels of a report: { encoding, mse, ... }.
export function readChannelReports(m, ptr, encodings) {
  const rows = new Float64Array(m.HEAPU8.buffer, ptr, encodings.length * REPORT_FIELDS);
  return encodings.map((encoding, c) => {
    const r = c * REPORT_FIELDS;
    return {
      encoding,
      mse: rows[r],
      rmse: rows[r + 1],
      maxAbsError: rows[r + 2],
      meanAbsError: rows[r + 3],
      sqnrDb: rows[r + 4],
      clipped: rows[r + 5],
      count: rows[r + 6],
      nonFinite: rows[r + 7],
    };
  });
}

// Calls fn(ptr, n) with the encodings written as rows into wasm memory,
// freed afterwards; the result is fn's.
export function withEncodingRows(m, list, fn) {
  const ptr = m._malloc(Math.max(list.length, 1) * ROW_BYTES);
  if (!ptr) throw new Error(`wasmquant: could not allocate memory for ${list.length} encodings`);
  try {
    const rows = new Float64Array(m.HEAPU8.buffer, ptr, list.length * FIELDS);
    list.forEach((e, i) => {
      const r = i * FIELDS;
      rows[r] = e.bitwidth;
      rows[r + 1] = e.min;
      rows[r + 2] = e.max;
      rows[r + 3] = e.scale;
      rows[r + 4] = e.offset;
      rows[r + 5] = e.isSymmetric ? 1 : 0;
    });
    return fn(ptr, list.length);
  } finally {
    m._free(ptr);
  }
}
