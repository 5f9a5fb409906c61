// Drawing the models panel: the per-weight table, the totals, the notes and
// the model check. Numbers are also kept in data-* attributes, unrounded, so
// that a test (or a script) can read what the page shows.
import { formatBytes } from '../format.js';
import { $, el, shapeText } from '../dom.js';

const FORMAT_NAMES = { 'onnx-qdq': 'ONNX QDQ', 'onnx-matmulnbits': 'ONNX MatMulNBits', tfjs: 'TF.js' };

const dbText = (v) => (v === null || v === undefined ? '—' : v === Infinity ? '∞' : v.toFixed(2));

function granularity(r) {
  if (r.axis === null || r.axis === undefined) return 'per tensor';
  if (r.blockSize) return `blocks of ${r.blockSize}, axis ${r.axis}`;
  return `per channel, axis ${r.axis}`;
}

function actionCell(r) {
  if (r.action === 'keep') return el('td', { class: 'reason', text: `kept: ${r.reason}` });
  const parts = [r.storage, r.scheme, granularity(r), r.symmetric && r.scheme !== 'symmetric' ? 'symmetric' : null];
  return el(
    'td',
    { class: 'action', dataset: { storage: r.storage, axis: String(r.axis ?? '') } },
    parts.filter(Boolean).join(' · '),
    r.note ? el('span', { class: 'help', text: r.note }) : null,
  );
}

function weightRow(r) {
  const quantized = r.action === 'quantize';
  return el(
    'tr',
    { class: quantized ? '' : 'kept', dataset: { name: r.name, action: r.action } },
    el('th', { scope: 'row', class: 'wname', text: r.name }),
    el('td', { class: 'wrap', text: r.op }),
    el('td', { text: shapeText(r.shape) }),
    actionCell(r),
    el('td', { class: 'num', dataset: { key: 'sqnr', value: quantized ? String(r.sqnrDb) : '' }, text: quantized ? dbText(r.sqnrDb) : '—' }),
    el('td', {
      class: 'num',
      dataset: { key: 'bytes', before: String(r.bytesBefore), after: String(r.bytesAfter) },
      text: quantized ? `${formatBytes(r.bytesBefore)} → ${formatBytes(r.bytesAfter)}` : formatBytes(r.bytesBefore),
    }),
  );
}

/** The rows in the table's order: the quantized weights first, each group in model order. */
const tableOrder = (rows) => [...rows.filter((r) => r.action === 'quantize'), ...rows.filter((r) => r.action !== 'quantize')];

/** The per-weight table; `showKept` false lists only the quantized weights. */
export function renderTable(rows, showKept) {
  const ordered = tableOrder(rows);
  const shown = showKept ? ordered : ordered.filter((r) => r.action === 'quantize');
  $('m-table').tBodies[0].replaceChildren(...shown.map(weightRow));
}

/** One figure of a panel's totals, its value unrounded in data-value. */
export function metric(label, text, value, primary = false) {
  return el(
    'div',
    { class: primary ? 'metric primary' : 'metric' },
    el('span', { class: 'label', text: label }),
    el('output', { text, dataset: { value: String(value) } }),
  );
}

/** The head of the panel: the model, its totals and the notes. */
export function renderSummary(result, ms) {
  const t = result.totals;
  const ratio = t.bytesAfter > 0 ? t.bytesBefore / t.bytesAfter : 0;
  const sqnrs = result.tensors.filter((r) => r.action === 'quantize' && Number.isFinite(r.sqnrDb)).map((r) => r.sqnrDb);
  const worst = sqnrs.length ? Math.min(...sqnrs) : null;
  $('models-title').textContent = result.model;
  $('models-sub').textContent =
    `${FORMAT_NAMES[result.format] ?? result.format} · ${t.weights} weights: ${t.quantized} quantized, ${t.kept} kept float · inspected in ${ms.toFixed(0)} ms`;
  $('m-totals').replaceChildren(
    metric('Size after', `${formatBytes(t.bytesBefore)} → ${formatBytes(t.bytesAfter)}`, t.bytesAfter, true),
    metric('Smaller by', ratio ? `${ratio.toFixed(2)}×` : '—', ratio),
    metric('Quantized', `${t.quantized} of ${t.weights}`, t.quantized),
    metric('Worst SQNR', worst === null ? '—' : `${worst.toFixed(2)} dB`, worst ?? ''),
  );
  $('m-notes').replaceChildren(...result.notes.map((n) => el('li', { text: n })));
}

const inputText = (i) => `${i.name}: ${i.fill}, ${i.type}, shape ${shapeText(i.shape)}`;

/**
 * A model check's result, one row per output, in the table `ids.table` with
 * its input described in `ids.input` (the weights' check by default).
 */
export function renderCheck(check, ids = { table: 'm-check-table', input: 'm-check-input' }) {
  const table = $(ids.table);
  if (!check) {
    table.hidden = true;
    table.tBodies[0].replaceChildren();
    $(ids.input).textContent = '';
    return;
  }
  $(ids.input).textContent =
    `${check.generated ? 'Generated input' : 'Input'} — ${check.inputs.map(inputText).join('; ')}. ${check.runtime}, both models in ${check.ms.toFixed(0)} ms.`;
  table.tBodies[0].replaceChildren(
    ...check.outputs.map((o) =>
      el(
        'tr',
        { dataset: { name: o.name, maxAbs: String(o.maxAbs), cosine: String(o.cosine), rms: String(o.rms), nonFinite: String(o.nonFinite) } },
        el('th', { scope: 'row', class: 'wname', text: o.name }),
        el('td', { text: shapeText(o.shape) }),
        el('td', { class: 'num', text: o.rms.toPrecision(4) }),
        el('td', { class: 'num', text: o.maxAbs.toPrecision(4) }),
        el('td', { class: `num ${o.cosine >= 0.99 ? 'good' : o.cosine < 0.9 ? 'bad' : ''}`.trim(), text: o.cosine.toFixed(6) }),
      ),
    ),
  );
  table.hidden = false;
}

/** The list of the quantized model's files, each a download button. */
export function renderFiles(files, onDownload) {
  $('m-files').replaceChildren(
    ...Object.entries(files).map(([name, bytes]) =>
      el(
        'li',
        {},
        el('button', {
          type: 'button',
          class: 'ghost small',
          dataset: { file: name },
          onclick: () => onDownload(name),
          text: `${name} · ${formatBytes(bytes.byteLength)}`,
        }),
      ),
    ),
  );
}
