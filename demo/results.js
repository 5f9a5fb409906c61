// The results of one tensor and setting: metrics, encoding and the two plots.
import { renderChannels } from './channels.js';
import { $, el, shapeText, showError } from './dom.js';
import { formatCount, formatDb, formatNumber } from './format.js';
import { drawErrors, drawHistogram } from './plots.js';
import { state } from './state.js';
import { update } from './update.js';

export const SCHEME_NAMES = { tf: 'tf', symmetric: 'symmetric', tf_enhanced: 'tf_enhanced', percentile: 'percentile' };

export const VIEW_OPTIONS = 1000; // channels listed in the plot's channel menu

export function clearResults(message) {
  showError('results-error', message);
  for (const id of ['m-sqnr', 'm-mse', 'm-rmse', 'm-maxabs', 'm-meanabs', 'm-clipped']) {
    $(id).textContent = '—';
    delete $(id).dataset.value;
  }
}

export function setMetric(id, value, text) {
  const node = $(id);
  node.textContent = text;
  node.dataset.value = String(value);
}

export function renderAnalysis(a) {
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
    a.codesUsed !== null
      ? `${formatCount(a.codesUsed)} of ${formatCount(a.codesTotal)} codes used${a.view !== null ? ` in channel ${a.view}` : ''}`
      : null,
    a.sampled
      ? `histograms and codes used from ${formatCount(a.sampled.values)} of ${formatCount(a.sampled.of)} values, an even spread of blocks (the report is exact)`
      : null,
  ]
    .filter(Boolean)
    .join(' · ');

  renderEncoding(a);
  renderChannels(a);
  renderViewSelect(a);
  drawPlots();
}

export function encodingEntries(e) {
  return [
    ['min', e.min, formatNumber(e.min)],
    ['max', e.max, formatNumber(e.max)],
    ['scale', e.scale, formatNumber(e.scale)],
    ['offset', e.offset, String(e.offset)],
    ['bitwidth', e.bitwidth, String(e.bitwidth)],
    ['symmetric', e.isSymmetric, e.isSymmetric ? 'yes (signed codes)' : 'no'],
  ];
}

export function renderEncoding(a) {
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

export function renderViewSelect(a) {
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
    for (const i of [...listed].sort((x, y) => x - y))
      options.push(el('option', { value: String(i), text: `channel ${i}${i === worst ? ' (worst)' : ''}` }));
  }
  select.replaceChildren(...options);
  select.value = a.view === null ? 'all' : String(a.view);
}

export function setView(channel) {
  state.view = channel;
  update();
}

export function drawPlots() {
  const a = state.analysis;
  if (!a) return;
  const log = $('log-scale').checked;
  const notes = drawHistogram($('hist'), a.values, a.viewEncoding, { log });
  const where = a.view === null ? '' : `channel ${a.view}: `;
  $('hist-legend').replaceChildren(
    ...[
      el('span', { class: 'key bar' }),
      ' values ',
      a.viewEncoding
        ? [
            el('span', { class: 'key grid' }),
            ' grid levels ',
            el('span', { class: 'key clip' }),
            ' min / max (clipped beyond) ',
            el('span', { class: 'key zero' }),
            ' zero',
          ]
        : [],
      el('br'),
      el('span', {
        class: 'muted',
        text: a.viewEncoding ? `${where}${notes.join(' · ')}` : 'Per channel: each channel has its own grid — pick a channel above to see it.',
      }),
    ].flat(),
  );
  const e = drawErrors($('err'), a.errors, { log });
  const inside = e.total - e.below - e.above;
  $('err-legend').replaceChildren(
    el('span', { class: 'key bar-err' }),
    ' error within ±1.5 steps ',
    el('span', { class: 'key clip' }),
    ' beyond: clipped values ',
    el('br'),
    el('span', {
      class: 'muted',
      text: `${where}${formatCount(inside)} of ${formatCount(e.total)} errors within ±1.5 steps; rounding alone keeps them within ±½ step${e.below + e.above ? `; ${formatCount(e.below + e.above)} beyond` : ''}.`,
    }),
  );
}
