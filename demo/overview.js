// Every tensor of a multi-tensor file under the settings.
import { $, el, shapeText } from './dom.js';
import { formatBytes, formatNumber } from './format.js';
import { selectTensor } from './source.js';
import { state } from './state.js';
import { compareValues, sortHeader } from './table.js';

export const OVERVIEW_COLUMNS = [
  { key: 'name', label: 'Tensor', numeric: false, get: (r) => r.name },
  {
    key: 'sqnrDb',
    label: 'SQNR (dB)',
    get: (r) => r.sqnrDb ?? -Infinity,
    text: (v, r) => (r.error ? r.error : r.sqnrDb === Infinity ? '∞' : r.sqnrDb.toFixed(2)),
  },
  { key: 'bytesBefore', label: 'Before', get: (r) => r.bytesBefore, text: (v, r) => `${formatBytes(r.bytesBefore)} ${r.dtype}` },
  { key: 'bytesAfter', label: 'After', get: (r) => r.bytesAfter ?? 0, text: (v, r) => (r.error ? '—' : formatBytes(r.bytesAfter)) },
  { key: 'ratio', label: 'Ratio', get: (r) => (r.bytesAfter ? r.bytesBefore / r.bytesAfter : 0), text: (v) => (v ? `${v.toFixed(1)}×` : '—') },
  { key: 'shape', label: 'Shape', numeric: false, get: (r) => r.count, text: (v, r) => shapeText(r.shape) },
  {
    key: 'granularity',
    label: 'Granularity',
    numeric: false,
    get: (r) => r.axis ?? -1,
    text: (v, r) => (r.axis === null || r.axis === undefined ? 'tensor' : `axis ${r.axis} (${r.channels})`),
  },
  { key: 'mse', label: 'MSE', get: (r) => r.mse ?? -1, text: (v, r) => (r.error ? '—' : formatNumber(r.mse)) },
];

// One tensor's row: its name (a button that selects it) and its columns.
function overviewRow(r) {
  return el(
    'tr',
    { class: r.name === state.selected ? 'current' : '', dataset: { name: r.name } },
    OVERVIEW_COLUMNS.map((c, i) => {
      const v = c.get(r);
      const text = c.text ? c.text(v, r) : String(v);
      if (i === 0) {
        return el(
          'th',
          { scope: 'row' },
          r.error === 'empty' ? text : el('button', { type: 'button', class: 'link-button', onclick: () => selectFromOverview(r.name), text }),
        );
      }
      return el('td', {
        class: [c.numeric === false ? '' : 'num', r.error && c.key === 'sqnrDb' ? 'error-cell' : ''].join(' ').trim(),
        dataset: { key: c.key, value: String(v) },
        text,
      });
    }),
  );
}

// The totals: bytes before and after, and the ratio.
function overviewTotals(rows) {
  const before = rows.reduce((s, r) => s + r.bytesBefore, 0);
  const after = rows.reduce((s, r) => s + (r.bytesAfter ?? 0), 0);
  return el(
    'tr',
    {},
    el('th', { scope: 'row', text: `${rows.length} tensors` }),
    el('td'),
    el('td', { class: 'num', dataset: { key: 'bytesBefore', value: String(before) }, text: formatBytes(before) }),
    el('td', { class: 'num', dataset: { key: 'bytesAfter', value: String(after) }, text: formatBytes(after) }),
    el('td', { class: 'num', text: after ? `${(before / after).toFixed(1)}×` : '—' }),
    el('td', { colspan: '3' }),
  );
}

export function renderOverview(o) {
  state.overview = o;
  const table = $('overview-table');
  const rows = [...o.rows];
  const { key, dir } = state.overviewSort;
  if (key) {
    const col = OVERVIEW_COLUMNS.find((c) => c.key === key);
    rows.sort((x, y) => dir * compareValues(col.get(x), col.get(y)));
  }
  table.tHead.replaceChildren(
    sortHeader(OVERVIEW_COLUMNS, state.overviewSort, (k) => {
      state.overviewSort = { key: k, dir: state.overviewSort.key === k ? -state.overviewSort.dir : 1 };
      renderOverview(state.overview);
      table.tHead.querySelector(`[data-key="${k}"]`)?.focus();
    }),
  );
  table.tBodies[0].replaceChildren(...rows.map(overviewRow));
  table.tFoot.replaceChildren(overviewTotals(o.rows));
  const s = o.settings;
  $('overview-sub').textContent =
    `${s.scheme}, ${s.bitwidth} bits; size after = the codes (${s.bitwidth <= 8 ? 'one byte' : 'two bytes'} each). Pick a tensor to inspect it.`;
}

export function selectFromOverview(name) {
  const radio = [...document.querySelectorAll('input[name="tensor"]')].find((r) => r.value === name);
  if (radio) radio.checked = true;
  selectTensor(name);
}
