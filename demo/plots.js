// Hand-drawn canvas plots: the value histogram with the quantization grid
// and clip range over it, and the histogram of the round-trip error.
// Colours come from the page's CSS custom properties (light and dark).

function css(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

// Sizes the canvas backing store to its CSS box × devicePixelRatio.
function setup(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(200, canvas.clientWidth);
  const height = Math.max(140, canvas.clientHeight);
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.font = `11px ${css('--font-mono')}`;
  return { ctx, width, height };
}

// 1, 2 or 5 × 10^k ticks, about `count` of them over [lo, hi].
export function niceTicks(lo, hi, count) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? raw;
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return ticks;
}

export function formatTick(v) {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(1).replace('e+', 'e');
  return String(Number(v.toPrecision(3)));
}

const PAD = { left: 46, right: 12, top: 16, bottom: 40 };

function frame(ctx, width, height) {
  return { x0: PAD.left, x1: width - PAD.right, y0: PAD.top, y1: height - PAD.bottom };
}

function xAxis(ctx, box, lo, hi, label) {
  const sx = (v) => box.x0 + ((v - lo) / (hi - lo)) * (box.x1 - box.x0);
  ctx.strokeStyle = css('--axis');
  ctx.fillStyle = css('--muted');
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(box.x0, box.y1 + 0.5);
  ctx.lineTo(box.x1, box.y1 + 0.5);
  ctx.stroke();
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  const ticks = niceTicks(lo, hi, Math.max(2, Math.floor((box.x1 - box.x0) / 70)));
  for (const t of ticks) {
    const x = Math.round(sx(t)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(x, box.y1);
    ctx.lineTo(x, box.y1 + 4);
    ctx.stroke();
    ctx.fillText(formatTick(t), x, box.y1 + 6);
  }
  if (label) {
    ctx.textAlign = 'right';
    ctx.textBaseline = 'top';
    ctx.fillText(label, box.x1, box.y1 + 22);
  }
  return sx;
}

function yAxis(ctx, box, max, log) {
  const top = log ? Math.log10(1 + max) : max;
  const sy = (c) => box.y1 - ((log ? Math.log10(1 + c) : c) / (top || 1)) * (box.y1 - box.y0);
  ctx.fillStyle = css('--muted');
  ctx.strokeStyle = css('--gridline');
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  let ticks;
  if (log) {
    ticks = [0];
    for (let p = 1; p <= 1 + max; p *= 10) ticks.push(p);
  } else {
    ticks = niceTicks(0, max, 4);
  }
  for (const t of ticks) {
    if (t > max * 1.0001 && t !== 0) continue;
    const y = Math.round(sy(t)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(box.x0, y);
    ctx.lineTo(box.x1, y);
    ctx.stroke();
    ctx.fillText(t >= 1e4 ? `1e${Math.round(Math.log10(t))}` : String(t), box.x0 - 6, y);
  }
  return sy;
}

// A full-height line at canvas x, on the pixel grid so it stays crisp.
function verticalLine(ctx, box, x) {
  const px = Math.round(x) + 0.5;
  ctx.beginPath();
  ctx.moveTo(px, box.y0);
  ctx.lineTo(px, box.y1);
  ctx.stroke();
}

function bars(ctx, counts, box, sx, sy, lo, hi, color) {
  const width = (hi - lo) / counts.length;
  ctx.fillStyle = color;
  for (let i = 0; i < counts.length; i += 1) {
    if (counts[i] === 0) continue;
    const xa = sx(lo + i * width);
    const xb = sx(lo + (i + 1) * width);
    const y = sy(counts[i]);
    ctx.fillRect(xa, y, Math.max(1, xb - xa - (xb - xa > 3 ? 0.6 : 0)), box.y1 - y);
  }
}

/**
 * values: { lo, hi, counts, dataMin, dataMax }; encoding: the view's
 * encoding or null (per-channel, whole tensor). Returns a text description.
 */
// The clip range shaded and the encoding's grid under the bars; returns
// the notes that describe them.
function drawGrid(ctx, box, sx, { lo, hi }, { min, max: top, scale }) {
  // Clip range: values beyond half a step outside [min, max] saturate.
  const clipLo = min - scale / 2;
  const clipHi = top + scale / 2;
  ctx.fillStyle = css('--clip-fill');
  if (clipLo > lo) ctx.fillRect(box.x0, box.y0, sx(clipLo) - box.x0, box.y1 - box.y0);
  if (clipHi < hi) ctx.fillRect(sx(clipHi), box.y0, box.x1 - sx(clipHi), box.y1 - box.y0);

  // The grid: every level when they are ≥ 4 px apart, else every k-th.
  const levels = Math.round((top - min) / scale) + 1;
  const pxPerStep = ((box.x1 - box.x0) * scale) / (hi - lo);
  let every = 1;
  while (pxPerStep * every < 6) every *= 2;
  ctx.strokeStyle = css('--grid');
  ctx.lineWidth = 1;
  ctx.beginPath();
  const z = Math.round(-min / scale);
  for (let q = z % every; q < levels; q += every) {
    const x = Math.round(sx(min + q * scale)) + 0.5;
    if (x < box.x0 || x > box.x1) continue;
    ctx.moveTo(x, box.y0);
    ctx.lineTo(x, box.y1);
  }
  ctx.stroke();
  return [
    every === 1 ? `grid: all ${levels} levels, step ${formatTick(scale)}` : `grid: every ${every}th of ${levels} levels (step ${formatTick(scale)})`,
    `clip range [${formatTick(clipLo)}, ${formatTick(clipHi)}]`,
  ];
}

// The encoding's min, max and zero over the bars.
function drawEnds(ctx, box, sx, encoding) {
  ctx.lineWidth = 1.5;
  ctx.strokeStyle = css('--clip');
  for (const v of [encoding.min, encoding.max]) verticalLine(ctx, box, sx(v));
  ctx.strokeStyle = css('--zero');
  ctx.setLineDash([3, 3]);
  verticalLine(ctx, box, sx(0));
  ctx.setLineDash([]);
  ctx.fillStyle = css('--clip');
  ctx.textBaseline = 'top';
  ctx.textAlign = 'left';
  ctx.fillText('min', Math.min(sx(encoding.min) + 3, box.x1 - 20), box.y0 + 1);
  ctx.textAlign = 'right';
  ctx.fillText('max', Math.max(sx(encoding.max) - 3, box.x0 + 20), box.y0 + 1);
}

export function drawHistogram(canvas, values, encoding, { log = true } = {}) {
  const { ctx, width, height } = setup(canvas);
  const box = frame(ctx, width, height);
  const { lo, hi, counts } = values;
  let max = 0;
  for (const c of counts) max = Math.max(max, c);
  const sy = yAxis(ctx, box, max, log);
  const sx = xAxis(ctx, box, lo, hi, 'value');
  const notes = encoding ? drawGrid(ctx, box, sx, values, encoding) : [];
  bars(ctx, counts, box, sx, sy, lo, hi, css('--bar'));
  if (encoding) drawEnds(ctx, box, sx, encoding);
  const total = counts.reduce((a, b) => a + b, 0);
  const text = `Histogram of ${total.toLocaleString('en-US')} values from ${formatTick(values.dataMin)} to ${formatTick(values.dataMax)}${notes.length ? `; ${notes.join('; ')}` : ''}.`;
  canvas.setAttribute('aria-label', text);
  return notes;
}

/** errors: { range, counts: [below, bins…, above] } in steps of the grid. */
export function drawErrors(canvas, errors, { log = false } = {}) {
  const { ctx, width, height } = setup(canvas);
  const box = frame(ctx, width, height);
  const { range, counts } = errors;
  const below = counts[0];
  const above = counts[counts.length - 1];
  const inner = counts.subarray(1, counts.length - 1);
  // Two tail bars, each one bin wide, outside ±range.
  const binWidth = (2 * range) / inner.length;
  const tail = binWidth * 4;
  const lo = -range - tail;
  const hi = range + tail;
  let max = Math.max(below, above);
  for (const c of inner) max = Math.max(max, c);
  const sy = yAxis(ctx, box, max, log);
  const sx = xAxis(ctx, box, lo, hi, 'error in steps  (x̂ − x) / scale');

  ctx.fillStyle = css('--clip-fill');
  ctx.fillRect(box.x0, box.y0, sx(-range) - box.x0, box.y1 - box.y0);
  ctx.fillRect(sx(range), box.y0, box.x1 - sx(range), box.y1 - box.y0);
  bars(ctx, inner, box, sx, sy, -range, range, css('--bar-err'));
  ctx.fillStyle = css('--clip');
  for (const [count, a] of [
    [below, lo + tail * 0.2],
    [above, range + tail * 0.2],
  ]) {
    if (!count) continue;
    const y = sy(count);
    ctx.fillRect(sx(a), y, sx(a + tail * 0.6) - sx(a), box.y1 - y);
  }
  ctx.strokeStyle = css('--grid-strong');
  ctx.setLineDash([4, 3]);
  for (const v of [-0.5, 0.5]) verticalLine(ctx, box, sx(v));
  ctx.setLineDash([]);
  ctx.fillStyle = css('--muted');
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  ctx.textAlign = 'left';
  ctx.fillText('±½ step', sx(0.5) + 4, box.y0 + 1);
  const total = counts.reduce((a, b) => a + b, 0);
  const out = below + above;
  const text = `Histogram of the round-trip error of ${total.toLocaleString('en-US')} values in steps of the grid; ${out.toLocaleString('en-US')} beyond ±${range} steps (clipped).`;
  canvas.setAttribute('aria-label', text);
  return { below, above, total };
}
