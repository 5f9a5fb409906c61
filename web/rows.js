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

// A core encoding's ends, as FromScaleOffset (src/encoding.cpp) computes
// them from its scale and offset: the same double operations, so the
// same numbers.
function extremesOf(bitwidth, scale, offset, isSymmetric) {
  const strict = isSymmetric && offset === -(2 ** (bitwidth - 1) - 1);
  const min = offset * scale;
  return { min, max: min + (2 ** bitwidth - 1 - (strict ? 1 : 0)) * scale };
}

// Encodings kept as columns in JS memory, for the many of a tensor
// quantized in blocks (a million: as objects, or as the six float64 of a
// core row, they would take more memory than the weight's codes). min and
// max are derived from scale and offset, as the core's are, unless given
// ones differ (ofObjects): then they are kept too.
export class EncodingTable {
  constructor(columns) {
    this.columns = columns;
    this.length = columns.scale.length;
  }

  // A table of n rows to fill with readAt.
  static allocate(n) {
    return new EncodingTable({
      bitwidth: new Uint8Array(n),
      scale: new Float64Array(n),
      offset: new Int32Array(n),
      symmetric: new Uint8Array(n),
      extremes: null,
    });
  }

  static read(m, ptr, n) {
    const table = EncodingTable.allocate(n);
    table.readAt(m, ptr, n, 0);
    return table;
  }

  // Reads the n core rows at byte address ptr into rows start, ...;
  // returns a table viewing them.
  readAt(m, ptr, n, start) {
    const rows = new Float64Array(m.HEAPU8.buffer, ptr, n * FIELDS);
    const { bitwidth, scale, offset, symmetric } = this.columns;
    for (let i = 0, r = 0; i < n; i += 1, r += FIELDS) {
      bitwidth[start + i] = rows[r];
      scale[start + i] = rows[r + 3];
      offset[start + i] = rows[r + 4];
      symmetric[start + i] = rows[r + 5];
    }
    return this.slice(start, start + n);
  }

  // Rows begin, ... end - 1, sharing this table's memory.
  slice(begin, end) {
    const c = this.columns;
    return new EncodingTable({
      bitwidth: c.bitwidth.subarray(begin, end),
      scale: c.scale.subarray(begin, end),
      offset: c.offset.subarray(begin, end),
      symmetric: c.symmetric.subarray(begin, end),
      extremes: c.extremes && c.extremes.subarray(begin * 2, end * 2),
    });
  }

  static ofObjects(list) {
    const table = EncodingTable.allocate(list.length);
    const { bitwidth, scale, offset, symmetric } = table.columns;
    const extremes = new Float64Array(list.length * 2);
    let derived = true;
    list.forEach((e, i) => {
      bitwidth[i] = e.bitwidth;
      scale[i] = e.scale;
      offset[i] = e.offset;
      symmetric[i] = e.isSymmetric ? 1 : 0;
      const ends = extremesOf(e.bitwidth, e.scale, e.offset, e.isSymmetric);
      extremes[2 * i] = e.min;
      extremes[2 * i + 1] = e.max;
      derived &&= Object.is(ends.min, e.min) && Object.is(ends.max, e.max);
    });
    if (!derived) table.columns.extremes = extremes;
    return table;
  }

  // The rows of `tables` one after another.
  static concat(tables) {
    return EncodingTable.#gather(
      tables,
      tables.reduce((n, t) => n + t.length, 0),
      (visit) => {
        let at = 0;
        for (const t of tables) {
          for (let i = 0; i < t.length; i += 1) visit(t, i, at + i);
          at += t.length;
        }
      },
    );
  }

  // A table of the rows order[0], order[1], ...
  pick(order) {
    return EncodingTable.#gather([this], order.length, (visit) => {
      for (let i = 0; i < order.length; i += 1) visit(this, order[i], i);
    });
  }

  // A new table of n rows; each(visit) calls visit(table, i, to) to copy
  // row i of one of `tables` to row `to`.
  static #gather(tables, n, each) {
    const out = EncodingTable.allocate(n);
    const o = out.columns;
    const explicit = tables.some((t) => t.columns.extremes);
    if (explicit) o.extremes = new Float64Array(n * 2);
    each((t, i, to) => {
      const c = t.columns;
      o.bitwidth[to] = c.bitwidth[i];
      o.scale[to] = c.scale[i];
      o.offset[to] = c.offset[i];
      o.symmetric[to] = c.symmetric[i];
      if (explicit) {
        o.extremes[2 * to] = t.min(i);
        o.extremes[2 * to + 1] = t.max(i);
      }
    });
    return out;
  }

  bitwidth(i) {
    return this.columns.bitwidth[i];
  }

  // Row i's { min, max }: kept, or derived.
  #ends(i) {
    const c = this.columns;
    if (c.extremes) return { min: c.extremes[2 * i], max: c.extremes[2 * i + 1] };
    return extremesOf(c.bitwidth[i], c.scale[i], c.offset[i], c.symmetric[i] !== 0);
  }

  min(i) {
    return this.#ends(i).min;
  }

  max(i) {
    return this.#ends(i).max;
  }

  scale(i) {
    return this.columns.scale[i];
  }

  offset(i) {
    return this.columns.offset[i];
  }

  isSymmetric(i) {
    return this.columns.symmetric[i] !== 0;
  }

  at(i) {
    return {
      bitwidth: this.bitwidth(i),
      min: this.min(i),
      max: this.max(i),
      scale: this.scale(i),
      offset: this.offset(i),
      isSymmetric: this.isSymmetric(i),
    };
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
