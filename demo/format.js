// Formatting shared by the page and the worker.

export function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let v = n;
  let u = -1;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[u]}`;
}

export function formatNumber(v) {
  if (v === Infinity) return '∞';
  if (v === -Infinity) return '−∞';
  if (typeof v !== 'number' || Number.isNaN(v)) return '—';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-4) return v.toExponential(4).replace('e+', 'e');
  return String(Number(v.toPrecision(6)));
}

export function formatDb(v) {
  if (v === Infinity) return '∞ dB';
  return `${v.toFixed(2)} dB`;
}

export function formatCount(n) {
  return n.toLocaleString('en-US');
}
