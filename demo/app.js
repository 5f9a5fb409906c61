// The demo page. It imports the package as an npm user's page does (bare
// specifiers, resolved by the import map in index.html), runs all the work
// in the package's worker (wasmquant/worker, extended with ./ops.js), and
// only draws here.
import { connectWorker } from 'wasmquant/worker';
import { $, el, shapeText, showError } from './dom.js';
import { formatBytes } from './format.js';
import { initModels, isModelSet, leaveModels, openModels } from './models/panel.js';
import { drawErrors, drawHistogram } from './plots.js';

const SCHEME_NAMES = { tf: 'tf', symmetric: 'symmetric', tf_enhanced: 'tf_enhanced', percentile: 'percentile' };
const CHANNEL_ROWS = 200;
const MAX_CHANNELS = 65536; // per-channel choices offered
const VIEW_OPTIONS = 1000; // channels listed in the plot's channel menu

const state = {
  source: null, // { name, kind, tensors: [{ name, dtype, shape, count, bytes }] }
  selected: null,
  axes: {}, // tensor name → axis (number) or null
  view: 'worst', // 'worst' | 'all' | channel number (per-channel only)
  analysis: null,
  compare: null,
  overview: null,
  channelSort: { key: 'sqnrDb', dir: 1 },
  overviewSort: { key: null, dir: 1 },
  showAllChannels: false,
  rendered: { compare: null, overview: null },
};

let client;
let generation = 0;

// ------------------------------------------------------------ formatting

function formatNumber(v) {
  if (v === Infinity) return '∞';
  if (v === -Infinity) return '−∞';
  if (typeof v !== 'number' || Number.isNaN(v)) return '—';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-4) return v.toExponential(4).replace('e+', 'e');
  return String(Number(v.toPrecision(6)));
}

function formatDb(v) {
  if (v === Infinity) return '∞ dB';
  return `${v.toFixed(2)} dB`;
}

function formatCount(n) {
  return n.toLocaleString('en-US');
}



// ---------------------------------------------------------------- status

let progressTimer = null;

function setStatus(status, text) {
  document.body.dataset.status = status;
  $('status-text').textContent = text;
  $('results').setAttribute('aria-busy', String(status === 'busy'));
}

function showProgress(fraction, label, { immediate = false } = {}) {
  const box = $('progress');
  $('progress-bar').value = Math.max(0, Math.min(1, fraction));
  $('progress-label').textContent = `${label} — ${Math.round(fraction * 100)} %`;
  if (box.hidden && !progressTimer) {
    if (immediate) box.hidden = false;
    else progressTimer = setTimeout(() => (box.hidden = false), 250);
  }
}

function hideProgress() {
  clearTimeout(progressTimer);
  progressTimer = null;
  $('progress').hidden = true;
}

// Runs a worker method with the progress bar.
async function run(method, args, { label, transfer, immediate } = {}) {
  try {
    return await client.call(method, args, {
      transfer,
      onProgress: (p) => showProgress(p.fraction, p.label ?? label, { immediate }),
    });
  } finally {
    if (client.pending === 0) hideProgress();
  }
}

// ------------------------------------------------------------- settings

function settings() {
  const bitwidth = Number($('bitwidth').value);
  const s = {
    scheme: $('scheme').value,
    bitwidth: Number.isInteger(bitwidth) && bitwidth >= 2 && bitwidth <= 16 ? bitwidth : 8,
    rounding: $('rounding').value,
  };
  if (s.scheme === 'percentile') {
    const p = Number($('percentile').value);
    s.percentile = p >= 50 && p <= 100 ? p : 99.99;
  }
  return s;
}

function axisOf(name) {
  return state.axes[name] ?? null;
}

function resultKey(name, s, axis) {
  return [name, s.scheme, s.bitwidth, s.rounding, s.percentile ?? '', axis ?? 'tensor'].join('|');
}

function syncBitwidthButtons() {
  const bits = Number($('bitwidth').value);
  for (const b of document.querySelectorAll('[data-bits]')) b.setAttribute('aria-pressed', String(Number(b.dataset.bits) === bits));
}

function syncControls() {
  $('percentile-field').hidden = $('scheme').value !== 'percentile';
  syncBitwidthButtons();
  const t = currentTensor();
  const axisSelect = $('axis');
  axisSelect.replaceChildren(el('option', { value: '', text: 'per tensor' }));
  if (t) {
    t.shape.forEach((d, i) => {
      if (d > 1 && d <= MAX_CHANNELS && t.shape.length > 1) {
        axisSelect.append(el('option', { value: String(i), text: `per channel, axis ${i} (${formatCount(d)} channels)` }));
      }
    });
    const axis = axisOf(t.name);
    axisSelect.value = axis === null ? '' : String(axis);
  }
  axisSelect.disabled = axisSelect.options.length < 2;
  $('axis-help').textContent = axisSelect.disabled
    ? 'This tensor has no axis to split into channels.'
    : 'Per channel: one encoding per slice along the axis (0 for PyTorch/ONNX conv weights, the last for TF).';
}

function currentTensor() {
  return state.source?.tensors.find((t) => t.name === state.selected) ?? null;
}

// --------------------------------------------------------------- source

function renderSource() {
  const { source } = state;
  $('source-name').textContent = source ? `Loaded: ${source.name}` : '';
  const list = $('tensor-list');
  list.replaceChildren(el('legend', { class: 'sr-only', text: 'Tensor to inspect' }));
  $('tensor-count').textContent = source ? `(${source.tensors.length})` : '';
  for (const t of source?.tensors ?? []) {
    const empty = t.count === 0;
    const id = `tensor-${list.children.length}`;
    const input = el('input', {
      type: 'radio',
      name: 'tensor',
      id,
      value: t.name,
      checked: t.name === state.selected,
      disabled: empty,
      onchange: () => selectTensor(t.name),
    });
    const dtype = t.dtype === 'float32' ? 'float32' : `${t.dtype} → float32`;
    list.append(
      el(
        'label',
        { class: 'tensor', for: id },
        input,
        el('span', { class: 'tname', text: t.name }),
        el('span', { class: 'tmeta', text: `${dtype} · ${shapeText(t.shape)} · ${formatCount(t.count)} values · ${formatBytes(t.bytes)}${empty ? ' · empty' : ''}` }),
      ),
    );
  }
  const multi = (source?.tensors.length ?? 0) > 1;
  $('overview').hidden = !multi;
  for (const b of document.querySelectorAll('.all-tensors')) b.textContent = multi ? `all ${source.tensors.length} tensors .safetensors` : 'this tensor .safetensors';
  $('download-help').textContent = multi
    ? 'Encodings and .safetensors files cover every tensor of the file, each with its own granularity.'
    : 'The codes are uint8/uint16 (int8/int16 when symmetric); the encodings follow the QNN convention.';
}

function selectTensor(name) {
  state.selected = name;
  state.view = 'worst';
  state.showAllChannels = false;
  syncControls();
  update();
}

function loaded(source, preferred) {
  state.source = source;
  state.axes = {};
  state.rendered = { compare: null, overview: null };
  const usable = source.tensors.filter((t) => t.count > 0);
  state.selected = (usable.find((t) => t.name === preferred) ?? usable[0])?.name ?? null;
  state.view = 'worst';
  state.showAllChannels = false;
  state.channelSort = { key: 'sqnrDb', dir: 1 };
  state.overviewSort = { key: null, dir: 1 };
  renderSource();
  syncControls();
  if (state.selected) update();
  else {
    clearResults('Every tensor in this file is empty: nothing to quantize.');
    setStatus('ready', 'Ready');
  }
}

// Several files, or an .onnx / model.json among them: the models panel.
function openFiles(files) {
  const list = [...(files ?? [])];
  if (list.length === 0) return;
  if (isModelSet(list)) {
    generation += 1; // a tensor result still on its way is stale
    openModels(list);
    return;
  }
  leaveModels();
  openFile(list[0]);
}

async function openFile(file) {
  if (!file) return;
  showError('input-error', null);
  setStatus('busy', `Reading ${file.name}…`);
  generation += 1; // results of the previous file are now stale
  try {
    const source = await run('openFile', [file, { shape: $('bin-shape').value }], { label: `Reading ${file.name}`, immediate: true });
    loaded(source);
  } catch (e) {
    showError('input-error', `Could not open "${file.name}": ${e.message}`);
    setStatus('ready', 'Ready — the previous tensor is still loaded');
    if (state.selected) update();
  }
}

async function loadSample() {
  leaveModels();
  showError('input-error', null);
  const source = await run('loadSample', []);
  loaded(source, 'conv1.weight');
}

// -------------------------------------------------------------- results

function clearResults(message) {
  showError('results-error', message);
  for (const id of ['m-sqnr', 'm-mse', 'm-rmse', 'm-maxabs', 'm-meanabs', 'm-clipped']) {
    $(id).textContent = '—';
    delete $(id).dataset.value;
  }
}

function setMetric(id, value, text) {
  const node = $(id);
  node.textContent = text;
  node.dataset.value = String(value);
}

function renderAnalysis(a) {
  state.analysis = a;
  const { report } = a;
  const perChannel = Array.isArray(report.encoding);
  showError('results-error', null);
  setMetric('m-sqnr', report.sqnrDb, formatDb(report.sqnrDb));
  setMetric('m-mse', report.mse, formatNumber(report.mse));
  setMetric('m-rmse', report.rmse, formatNumber(report.rmse));
  setMetric('m-maxabs', report.maxAbsError, formatNumber(report.maxAbsError));
  setMetric('m-meanabs', report.meanAbsError, formatNumber(report.meanAbsError));
  const pct = report.count ? (100 * report.clipped) / report.count : 0;
  setMetric('m-clipped', report.clipped, `${formatCount(report.clipped)}${report.clipped ? ` (${pct < 0.01 ? '<0.01' : pct.toFixed(2)} %)` : ''}`);

  const s = a.settings;
  const granularity = perChannel ? `per channel (axis ${a.options.axis}, ${report.encoding.length} channels)` : 'per tensor';
  $('results-sub').textContent = `${a.name} ${shapeText(a.shape)} · ${SCHEME_NAMES[s.scheme]} · ${s.bitwidth} bits · ${s.rounding} · ${granularity}`;
  $('results').dataset.key = a.key;
  $('encoding-sub').textContent = [
    report.nonFinite ? `${formatCount(report.nonFinite)} NaN/Inf values saturated` : null,
    a.codesUsed !== null ? `${formatCount(a.codesUsed)} of ${formatCount(a.codesTotal)} codes used${a.view !== null ? ` in channel ${a.view}` : ''}` : null,
    a.sampled ? `histograms and codes used from ${formatCount(a.sampled.values)} of ${formatCount(a.sampled.of)} values, an even spread of blocks (the report is exact)` : null,
  ]
    .filter(Boolean)
    .join(' · ');

  renderEncoding(a);
  renderChannels(a);
  renderViewSelect(a);
  drawPlots();
}

function encodingEntries(e) {
  return [
    ['min', e.min, formatNumber(e.min)],
    ['max', e.max, formatNumber(e.max)],
    ['scale', e.scale, formatNumber(e.scale)],
    ['offset', e.offset, String(e.offset)],
    ['bitwidth', e.bitwidth, String(e.bitwidth)],
    ['symmetric', e.isSymmetric, e.isSymmetric ? 'yes (signed codes)' : 'no'],
  ];
}

function renderEncoding(a) {
  const dl = $('encoding');
  dl.replaceChildren();
  const perChannel = Array.isArray(a.report.encoding);
  if (perChannel) {
    const e = a.report.encoding;
    const scales = e.map((c) => c.scale);
    const items = [
      ['channels', e.length, formatCount(e.length)],
      ['scale from', Math.min(...scales), formatNumber(Math.min(...scales))],
      ['scale to', Math.max(...scales), formatNumber(Math.max(...scales))],
      ['bitwidth', e[0].bitwidth, String(e[0].bitwidth)],
      ['symmetric', e[0].isSymmetric, e[0].isSymmetric ? 'yes (signed codes)' : 'no'],
    ];
    for (const [k, v, text] of items) dl.append(el('div', {}, el('dt', { text: k }), el('dd', { text, dataset: { field: k, value: String(v) } })));
    return;
  }
  for (const [k, v, text] of encodingEntries(a.report.encoding)) {
    dl.append(el('div', {}, el('dt', { text: k }), el('dd', { text, dataset: { field: k, value: String(v) } })));
  }
}

const CHANNEL_COLUMNS = [
  { key: 'channel', label: 'Channel', get: (r) => r.channel, text: (v) => String(v) },
  { key: 'min', label: 'min', get: (r) => r.encoding.min, text: formatNumber },
  { key: 'max', label: 'max', get: (r) => r.encoding.max, text: formatNumber },
  { key: 'scale', label: 'scale', get: (r) => r.encoding.scale, text: formatNumber },
  { key: 'offset', label: 'offset', get: (r) => r.encoding.offset, text: (v) => String(v) },
  { key: 'sqnrDb', label: 'SQNR (dB)', get: (r) => r.sqnrDb, text: (v) => (v === Infinity ? '∞' : v.toFixed(2)) },
  { key: 'mse', label: 'MSE', get: (r) => r.mse, text: formatNumber },
  { key: 'maxAbsError', label: 'max abs err', get: (r) => r.maxAbsError, text: formatNumber },
  { key: 'clipped', label: 'clipped', get: (r) => r.clipped, text: formatCount },
];

function sortHeader(columns, sort, onSort) {
  return el(
    'tr',
    {},
    columns.map((c) =>
      el(
        'th',
        { scope: 'col', 'aria-sort': sort.key === c.key ? (sort.dir > 0 ? 'ascending' : 'descending') : 'none', class: c.numeric === false ? '' : 'num' },
        el(
          'button',
          { type: 'button', class: 'sort', dataset: { key: c.key }, onclick: () => onSort(c.key) },
          c.label,
          el('span', { class: 'arrow', 'aria-hidden': 'true', text: sort.key === c.key ? (sort.dir > 0 ? '▲' : '▼') : '' }),
        ),
      ),
    ),
  );
}

function compareValues(a, b) {
  if (typeof a === 'string' || typeof b === 'string') return String(a).localeCompare(String(b));
  return a - b;
}

function renderChannels(a) {
  const box = $('channels');
  const channels = a.report.channels;
  box.hidden = !channels;
  if (!channels) return;
  const rows = channels.map((c, i) => ({ channel: i, ...c }));
  const { key, dir } = state.channelSort;
  const col = CHANNEL_COLUMNS.find((c) => c.key === key);
  rows.sort((x, y) => dir * compareValues(col.get(x), col.get(y)) || x.channel - y.channel);
  const table = $('channel-table');
  table.tHead.replaceChildren(
    sortHeader(CHANNEL_COLUMNS, state.channelSort, (k) => {
      state.channelSort = { key: k, dir: state.channelSort.key === k ? -state.channelSort.dir : k === 'sqnrDb' || k === 'channel' ? 1 : -1 };
      renderChannels(state.analysis);
      table.tHead.querySelector(`[data-key="${k}"]`)?.focus();
    }),
  );
  const shown = state.showAllChannels ? rows : rows.slice(0, CHANNEL_ROWS);
  table.tBodies[0].replaceChildren(
    ...shown.map((r) =>
      el(
        'tr',
        { class: r.channel === a.view ? 'current' : '', dataset: { channel: String(r.channel) } },
        CHANNEL_COLUMNS.map((c, i) => {
          const v = c.get(r);
          if (i === 0) {
            return el(
              'th',
              { scope: 'row', class: 'num' },
              el('button', { type: 'button', class: 'link-button', 'aria-label': `Plot channel ${r.channel}`, onclick: () => setView(r.channel), text: String(r.channel) }),
            );
          }
          return el('td', { class: 'num', dataset: { value: String(v) }, text: c.text(v) });
        }),
      ),
    ),
  );
  const more = $('channels-more');
  more.hidden = rows.length <= CHANNEL_ROWS;
  more.textContent = state.showAllChannels ? `Show the first ${CHANNEL_ROWS}` : `Show all ${formatCount(rows.length)} channels`;
}

function renderViewSelect(a) {
  const select = $('view');
  const channels = a.report.channels;
  select.disabled = !channels;
  const options = [el('option', { value: 'all', text: channels ? 'whole tensor (no single grid)' : 'whole tensor' })];
  if (channels) {
    let worst = 0;
    channels.forEach((c, i) => {
      if (c.sqnrDb < channels[worst].sqnrDb) worst = i;
    });
    const listed = new Set([worst, ...(a.view === null ? [] : [a.view])]);
    for (let i = 0; i < Math.min(channels.length, VIEW_OPTIONS); i += 1) listed.add(i);
    for (const i of [...listed].sort((x, y) => x - y)) options.push(el('option', { value: String(i), text: `channel ${i}${i === worst ? ' (worst)' : ''}` }));
  }
  select.replaceChildren(...options);
  select.value = a.view === null ? 'all' : String(a.view);
}

function setView(channel) {
  state.view = channel;
  update();
}

function drawPlots() {
  const a = state.analysis;
  if (!a) return;
  const log = $('log-scale').checked;
  const notes = drawHistogram($('hist'), a.values, a.viewEncoding, { log });
  const where = a.view === null ? '' : `channel ${a.view}: `;
  $('hist-legend').replaceChildren(
    ...[
      el('span', { class: 'key bar' }), ' values ',
      a.viewEncoding ? [el('span', { class: 'key grid' }), ' grid levels ', el('span', { class: 'key clip' }), ' min / max (clipped beyond) ', el('span', { class: 'key zero' }), ' zero'] : [],
      el('br'),
      el('span', { class: 'muted', text: a.viewEncoding ? `${where}${notes.join(' · ')}` : 'Per channel: each channel has its own grid — pick a channel above to see it.' }),
    ].flat(),
  );
  const e = drawErrors($('err'), a.errors, { log });
  const inside = e.total - e.below - e.above;
  $('err-legend').replaceChildren(
    el('span', { class: 'key bar-err' }), ' error within ±1.5 steps ',
    el('span', { class: 'key clip' }), ' beyond: clipped values ',
    el('br'),
    el('span', {
      class: 'muted',
      text: `${where}${formatCount(inside)} of ${formatCount(e.total)} errors within ±1.5 steps; rounding alone keeps them within ±½ step${e.below + e.above ? `; ${formatCount(e.below + e.above)} beyond` : ''}.`,
    }),
  );
}

function renderCompare(c, s) {
  state.compare = c;
  const table = $('compare-table');
  table.tHead.replaceChildren(
    el('tr', {}, el('th', { scope: 'col', text: 'scheme' }), c.bitwidths.map((b) => el('th', { scope: 'col', class: 'num', text: `${b} bits` }))),
  );
  // The best at each bitwidth, and any other that shows the same SQNR.
  const shown = (v) => (v === Infinity ? '∞' : v.toFixed(2));
  const best = {};
  for (const b of c.bitwidths) {
    const rows = c.rows.filter((r) => r.bitwidth === b);
    const top = shown(Math.max(...rows.map((r) => r.sqnrDb)));
    best[b] = rows.filter((r) => shown(r.sqnrDb) === top).map((r) => r.scheme);
  }
  table.tBodies[0].replaceChildren(
    ...c.schemes.map((scheme) =>
      el(
        'tr',
        {},
        el('th', { scope: 'row', text: scheme }),
        c.bitwidths.map((b) => {
          const r = c.rows.find((x) => x.scheme === scheme && x.bitwidth === b);
          const isBest = best[b].includes(scheme);
          const current = s.scheme === scheme && s.bitwidth === b;
          return el(
            'td',
            { class: ['num', isBest ? 'best' : '', current ? 'current' : ''].join(' ').trim(), dataset: { scheme, bits: String(b), value: String(r.sqnrDb), best: isBest ? 'true' : null } },
            el(
              'button',
              {
                type: 'button',
                class: 'cell',
                'aria-pressed': String(current),
                'aria-label': `${scheme} at ${b} bits: SQNR ${formatDb(r.sqnrDb)}, ${r.clipped} clipped${isBest ? ', best at this bitwidth' : ''}. Use it.`,
                onclick: () => useSetting(scheme, b),
              },
              el(
                'span',
                { class: 'db' },
                r.sqnrDb === Infinity ? '∞' : r.sqnrDb.toFixed(2),
                isBest ? el('span', { class: 'star', 'aria-hidden': 'true', text: ' ★' }) : null,
              ),
              el('span', { class: 'clipped', text: r.clipped ? `${formatCount(r.clipped)} clipped` : '' }),
            ),
          );
        }),
      ),
    ),
  );
  $('compare-sub').textContent = `SQNR in dB (higher is better); ★ best at each bitwidth — at ${s.bitwidth} bits: ${best[s.bitwidth].join(', ')}. Pick a cell to use it.`;
}

function useSetting(scheme, bits) {
  $('scheme').value = scheme;
  $('bitwidth').value = String(bits);
  syncControls();
  update();
}

const OVERVIEW_COLUMNS = [
  { key: 'name', label: 'Tensor', numeric: false, get: (r) => r.name },
  { key: 'sqnrDb', label: 'SQNR (dB)', get: (r) => r.sqnrDb ?? -Infinity, text: (v, r) => (r.error ? r.error : r.sqnrDb === Infinity ? '∞' : r.sqnrDb.toFixed(2)) },
  { key: 'bytesBefore', label: 'Before', get: (r) => r.bytesBefore, text: (v, r) => `${formatBytes(r.bytesBefore)} ${r.dtype}` },
  { key: 'bytesAfter', label: 'After', get: (r) => r.bytesAfter ?? 0, text: (v, r) => (r.error ? '—' : formatBytes(r.bytesAfter)) },
  { key: 'ratio', label: 'Ratio', get: (r) => (r.bytesAfter ? r.bytesBefore / r.bytesAfter : 0), text: (v) => (v ? `${v.toFixed(1)}×` : '—') },
  { key: 'shape', label: 'Shape', numeric: false, get: (r) => r.count, text: (v, r) => shapeText(r.shape) },
  { key: 'granularity', label: 'Granularity', numeric: false, get: (r) => r.axis ?? -1, text: (v, r) => (r.axis === null || r.axis === undefined ? 'tensor' : `axis ${r.axis} (${r.channels})`) },
  { key: 'mse', label: 'MSE', get: (r) => r.mse ?? -1, text: (v, r) => (r.error ? '—' : formatNumber(r.mse)) },
];

function renderOverview(o) {
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
  table.tBodies[0].replaceChildren(
    ...rows.map((r) =>
      el(
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
          return el('td', { class: [c.numeric === false ? '' : 'num', r.error && c.key === 'sqnrDb' ? 'error-cell' : ''].join(' ').trim(), dataset: { key: c.key, value: String(v) }, text });
        }),
      ),
    ),
  );
  const before = o.rows.reduce((s, r) => s + r.bytesBefore, 0);
  const after = o.rows.reduce((s, r) => s + (r.bytesAfter ?? 0), 0);
  table.tFoot.replaceChildren(
    el(
      'tr',
      {},
      el('th', { scope: 'row', text: `${o.rows.length} tensors` }),
      el('td'),
      el('td', { class: 'num', dataset: { key: 'bytesBefore', value: String(before) }, text: formatBytes(before) }),
      el('td', { class: 'num', dataset: { key: 'bytesAfter', value: String(after) }, text: formatBytes(after) }),
      el('td', { class: 'num', text: after ? `${(before / after).toFixed(1)}×` : '—' }),
      el('td', { colspan: '3' }),
    ),
  );
  const s = o.settings;
  $('overview-sub').textContent = `${s.scheme}, ${s.bitwidth} bits; size after = the codes (${s.bitwidth <= 8 ? 'one byte' : 'two bytes'} each). Pick a tensor to inspect it.`;
}

function selectFromOverview(name) {
  const radio = [...document.querySelectorAll('input[name="tensor"]')].find((r) => r.value === name);
  if (radio) radio.checked = true;
  selectTensor(name);
}

// ---------------------------------------------------------------- update

let updateTimer = null;

function scheduleUpdate(delay = 120) {
  clearTimeout(updateTimer);
  updateTimer = setTimeout(update, delay);
}

async function update() {
  clearTimeout(updateTimer);
  const g = ++generation;
  const name = state.selected;
  if (!name || !client) return;
  const s = settings();
  const axis = axisOf(name);
  const key = resultKey(name, s, axis);
  const started = performance.now();
  setStatus('busy', 'Quantizing…');
  try {
    const view = state.view === 'all' ? null : state.view; // 'worst' is resolved by the worker
    const a = await run('analyzeTensor', [name, { ...s, axis }, view], { label: 'Quantizing' });
    if (g !== generation) return;
    renderAnalysis({ ...a, settings: s, key });

    const compareKey = [name, s.bitwidth, s.rounding, s.percentile ?? '', axis ?? ''].join('|');
    if (state.rendered.compare !== compareKey) {
      setStatus('busy', 'Comparing schemes…');
      const c = await run('compare', [name, { ...s, axis }], { label: 'Comparing schemes and bitwidths' });
      if (g !== generation) return;
      state.rendered.compare = compareKey;
      renderCompare(c, s);
    } else {
      renderCompare(state.compare, s);
    }

    if (state.source.tensors.length > 1) {
      const overviewKey = [s.scheme, s.bitwidth, s.rounding, s.percentile ?? '', JSON.stringify(state.axes)].join('|');
      if (state.rendered.overview !== overviewKey) {
        setStatus('busy', 'Measuring every tensor…');
        const o = await run('overview', [s, state.axes], { label: 'Every tensor' });
        if (g !== generation) return;
        state.rendered.overview = overviewKey;
        renderOverview({ ...o, settings: s });
      } else {
        renderOverview(state.overview);
      }
    }
    setStatus('ready', `Ready · ${(performance.now() - started).toFixed(0)} ms`);
  } catch (e) {
    if (g !== generation) return;
    clearResults(e.message);
    setStatus('ready', 'Ready — the last setting failed');
  }
}

// ------------------------------------------------------------- downloads

async function download(button) {
  const what = button.dataset.export;
  const format = button.dataset.format;
  showError('download-error', null);
  const buttons = document.querySelectorAll('[data-export]');
  for (const b of buttons) b.disabled = true;
  try {
    const { bytes, fileName, type } = await run('exportData', [what, format, settings(), state.selected, state.axes], { label: `Preparing ${what}` });
    const url = URL.createObjectURL(new Blob([bytes], { type }));
    const a = el('a', { href: url, download: fileName, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } catch (e) {
    showError('download-error', `Could not prepare the download: ${e.message}`);
  } finally {
    for (const b of buttons) b.disabled = false;
  }
}

// ---------------------------------------------------------------- wiring

function wire() {
  const drop = $('drop');
  const file = $('file');
  drop.addEventListener('click', () => file.click());
  drop.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      file.click();
    }
  });
  file.addEventListener('change', () => {
    openFiles(file.files);
    file.value = '';
  });
  // Anywhere on the page: never let the browser navigate to a dropped file.
  let depth = 0;
  window.addEventListener('dragenter', (e) => {
    if (![...(e.dataTransfer?.types ?? [])].includes('Files')) return;
    depth += 1;
    drop.classList.add('over');
  });
  window.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) drop.classList.remove('over');
  });
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => {
    e.preventDefault();
    depth = 0;
    drop.classList.remove('over');
    openFiles(e.dataTransfer?.files);
  });

  $('load-sample').addEventListener('click', loadSample);
  $('bin-shape').addEventListener('change', async () => {
    if (state.source?.kind !== 'bin' || !state.selected) return;
    showError('input-error', null);
    try {
      const source = await run('reshape', [state.selected, $('bin-shape').value]);
      loaded(source, state.selected);
    } catch (e) {
      showError('input-error', e.message);
    }
  });

  $('settings').addEventListener('submit', (e) => e.preventDefault());
  $('scheme').addEventListener('change', () => {
    syncControls();
    update();
  });
  $('rounding').addEventListener('change', () => update());
  $('percentile').addEventListener('input', () => scheduleUpdate(250));
  $('bitwidth').addEventListener('input', () => {
    syncBitwidthButtons();
    const b = Number($('bitwidth').value);
    if (Number.isInteger(b) && b >= 2 && b <= 16) scheduleUpdate();
  });
  $('bitwidth').addEventListener('change', () => {
    const b = Math.round(Number($('bitwidth').value));
    $('bitwidth').value = String(Number.isFinite(b) ? Math.min(16, Math.max(2, b)) : 8);
    syncBitwidthButtons();
    scheduleUpdate(0);
  });
  for (const b of document.querySelectorAll('[data-bits]')) {
    b.addEventListener('click', () => {
      $('bitwidth').value = b.dataset.bits;
      syncBitwidthButtons();
      update();
    });
  }
  $('axis').addEventListener('change', () => {
    const v = $('axis').value;
    state.axes = { ...state.axes, [state.selected]: v === '' ? null : Number(v) };
    state.view = 'worst';
    state.showAllChannels = false;
    update();
  });
  $('view').addEventListener('change', () => {
    const v = $('view').value;
    setView(v === 'all' ? 'all' : Number(v));
  });
  $('log-scale').addEventListener('change', drawPlots);
  $('channels-more').addEventListener('click', () => {
    state.showAllChannels = !state.showAllChannels;
    renderChannels(state.analysis);
  });
  for (const b of document.querySelectorAll('[data-export]')) b.addEventListener('click', () => download(b));

  const redraw = () => requestAnimationFrame(drawPlots);
  new ResizeObserver(redraw).observe($('hist'));
  window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', redraw);
}

async function start() {
  wire();
  initModels({ run, setStatus });
  syncControls();
  try {
    const worker = new Worker(import.meta.resolve('wasmquant/worker'), { type: 'module', name: 'wasmquant' });
    client = connectWorker(worker);
    const { backend } = await client.call('createQuantizer', []);
    await client.call('extend', [new URL('./ops.js', import.meta.url).href]);
    $('backend').textContent = backend === 'simd128' ? 'wasm SIMD128' : 'wasm scalar';
    await loadSample();
  } catch (e) {
    $('backend').textContent = 'not loaded';
    setStatus('error', `The quantizer did not start: ${e.message}`);
    showError('results-error', `The quantizer did not start: ${e.message}. Serve the page with \`npm start\` after \`npm run build\`.`);
  }
}

start();
