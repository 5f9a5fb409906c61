// Text rendering of an inspection or quantization result: one row per
// weight, then the totals and the notes. Plain text, no colour, so it reads
// the same in a terminal, a log file and a pipe.

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

// bytesAfter can be fractional (4-bit codes of an odd count), so round.
export function humanBytes(n) {
  let value = Math.round(n);
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

function formatSqnr(db) {
  if (db === null || db === undefined) return '-';
  if (db === Infinity) return 'inf';
  return db.toFixed(1);
}

// "uint8 per-channel axis 0", "int4 blocks of 32", "keep: bias of Conv".
function describeAction(row) {
  if (row.action === 'keep') return `keep: ${row.reason ?? ''}`.trimEnd();
  let granularity = 'per-tensor';
  if (row.blockSize) granularity = `blocks of ${row.blockSize}`;
  else if (row.axis !== null && row.axis !== undefined) granularity = `per-channel axis ${row.axis}`;
  const storage = row.storage ?? `${row.symmetric ? 'int' : 'uint'}${row.bitwidth}`;
  // 'tf' is the default; only name the scheme when it is not.
  const scheme = row.scheme && row.scheme !== 'tf' && row.scheme !== 'symmetric' ? ` ${row.scheme}` : '';
  return `${storage} ${granularity}${scheme}`;
}

const shapeText = (shape) => `[${shape.join(',')}]`;

function formatTotals(totals) {
  const ratio = totals.bytesBefore > 0 ? ((100 * totals.bytesAfter) / totals.bytesBefore).toFixed(1) : '100.0';
  return (
    `${totals.weights} weights: ${totals.quantized} quantized, ${totals.kept} kept; ` +
    `${humanBytes(totals.bytesBefore)} → ${humanBytes(totals.bytesAfter)} (${ratio}%)`
  );
}

function renderColumns(header, rows, rightAligned) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) =>
    cells
      .map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

export function formatReport(result) {
  const header = ['name', 'op', 'shape', 'action', 'SQNR dB', 'size', 'note'];
  const rows = result.tensors.map((r) => [
    r.name,
    r.op,
    shapeText(r.shape),
    describeAction(r),
    r.action === 'quantize' ? formatSqnr(r.sqnrDb) : '-',
    humanBytes(r.bytesBefore),
    humanBytes(r.bytesAfter),
    r.note ?? '',
  ]);
  // "before → after" with both sides aligned.
  const wb = Math.max(0, ...rows.map((r) => r[5].length));
  const wa = Math.max(0, ...rows.map((r) => r[6].length));
  for (const r of rows) r.splice(5, 2, `${r[5].padStart(wb)} → ${r[6].padEnd(wa)}`);
  const lines = [`${result.model} (${result.format})`, '', ...renderColumns(header, rows, new Set([4, 5])), ''];
  lines.push(`total: ${formatTotals(result.totals)}`);
  for (const note of result.notes) lines.push(`note: ${note}`);
  return `${lines.join('\n')}\n`;
}

// Scales run from 1e-9 to 1e3: six significant digits, exponents outside.
function formatNumber(x) {
  if (x === 0 || (Math.abs(x) >= 1e-3 && Math.abs(x) < 1e6)) return String(Number(x.toPrecision(6)));
  return x.toExponential(5).replace(/\.?0+e/, 'e');
}

// calibrate's activations: each one's encoding, and the data's own range
// and the SQNR of its round trip when calibrateModel reports them.
export function formatActivations(result) {
  const rows = result.activations;
  const over = `over ${result.feeds} feed${result.feeds === 1 ? '' : 's'} in ${result.runtime}`;
  // calibrateModel reads the main graph only (not If/Loop bodies).
  if (rows.length === 0) return `activations: none calibrated ${over} (no float32 activation of an integer-capable op in the main graph)\n`;
  const observed = rows.some((r) => r.min !== undefined);
  const sqnr = rows.some((r) => r.sqnrDb !== undefined);
  const header = ['name', ...(observed ? ['data min', 'data max'] : []), 'encoding min', 'encoding max', 'scale', 'offset', 'type'];
  if (sqnr) header.push('SQNR dB');
  const cells = rows.map((r) => {
    const e = r.encoding;
    const line = [r.name];
    if (observed) line.push(r.min === undefined ? '-' : formatNumber(r.min), r.max === undefined ? '-' : formatNumber(r.max));
    line.push(formatNumber(e.min), formatNumber(e.max), formatNumber(e.scale), String(e.offset), `${e.isSymmetric ? 'int' : 'uint'}${e.bitwidth}`);
    if (sqnr) line.push(formatSqnr(r.sqnrDb));
    return line;
  });
  const numeric = new Set(header.map((h, i) => i).filter((i) => i > 0 && header[i] !== 'type'));
  const lines = ['activations', '', ...renderColumns(header, cells, numeric), ''];
  lines.push(`total: ${rows.length} activations calibrated ${over}`);
  return `${lines.join('\n')}\n`;
}
