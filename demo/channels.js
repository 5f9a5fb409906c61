// The per-channel table, worst channels first.
import { $, el } from './dom.js';
import { formatCount, formatNumber } from './format.js';
import { setView } from './results.js';
import { state } from './state.js';
import { compareValues, sortHeader } from './table.js';

export const CHANNEL_ROWS = 200;

export const CHANNEL_COLUMNS = [
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

export function renderChannels(a) {
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
              el('button', {
                type: 'button',
                class: 'link-button',
                'aria-label': `Plot channel ${r.channel}`,
                onclick: () => setView(r.channel),
                text: String(r.channel),
              }),
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
