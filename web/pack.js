// 4-bit packing (SPEC §3.5): two codes per byte, the first in the low
// nibble; per-channel data packs each channel's row on its own, so rows start
// on byte boundaries.

export function checkPackable(encoding) {
  if (encoding.bitwidth !== 4) {
    throw new RangeError(`wasmquant: pack packs two 4-bit codes per byte: it needs bitwidth 4, got ${encoding.bitwidth}`);
  }
}

// The rows that pack separately: one per channel, which must be contiguous.
function rows(layout, length) {
  if (!layout.perChannel) return { count: 1, length };
  if (layout.outer !== 1) {
    throw new RangeError(`wasmquant: pack packs each channel's row, so the channel axis must come first (axis 0), not axis ${layout.axis}`);
  }
  return { count: layout.channels, length: layout.inner };
}

export function packNibbles(codes, layout) {
  const r = rows(layout, codes.length);
  const rowBytes = Math.ceil(r.length / 2);
  const packed = new Uint8Array(r.count * rowBytes);
  for (let row = 0; row < r.count; row += 1) {
    const from = row * r.length;
    const to = row * rowBytes;
    for (let i = 0; i < r.length; i += 2) {
      const low = codes[from + i] & 0xf;
      const high = i + 1 < r.length ? (codes[from + i + 1] & 0xf) << 4 : 0;
      packed[to + i / 2] = low | high;
    }
  }
  return packed;
}

// packed: a Uint8Array; the element count comes from options.shape, or is
// twice the bytes. Signed (symmetric) codes are sign-extended.
export function unpackNibbles(packed, o, layout, dtype) {
  if (!(packed instanceof Uint8Array)) {
    throw new TypeError('wasmquant: packed codes must be a Uint8Array');
  }
  const length = o.shape === undefined ? packed.length * 2 : Array.from(o.shape).reduce((a, b) => a * b, 1);
  const r = rows(layout, length);
  const rowBytes = Math.ceil(r.length / 2);
  if (packed.length !== r.count * rowBytes) {
    throw new RangeError(
      `wasmquant: ${packed.length} packed bytes do not hold ${length} 4-bit codes (${r.count} row(s) of ${rowBytes} bytes expected)`,
    );
  }
  const signed = dtype === 'int8';
  const codes = signed ? new Int8Array(length) : new Uint8Array(length);
  for (let row = 0; row < r.count; row += 1) {
    for (let i = 0; i < r.length; i += 1) {
      const byte = packed[row * rowBytes + (i >> 1)];
      const nibble = i & 1 ? byte >> 4 : byte & 0xf;
      codes[row * r.length + i] = signed ? (nibble << 28) >> 28 : nibble;
    }
  }
  return codes;
}
