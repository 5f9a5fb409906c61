// The grid of every scheme and bitwidth on the tensor.
import { $, el } from './dom.js';
import { formatCount, formatDb } from './format.js';
import { syncControls } from './settings.js';
import { state } from './state.js';
import { update } from './update.js';

const shown = (v) => (v === Infinity ? '∞' : v.toFixed(2));

// The best scheme at each bitwidth, and any other that shows the same SQNR.
function bestByBitwidth(c) {
  const best = {};
  for (const b of c.bitwidths) {
    const rows = c.rows.filter((r) => r.bitwidth === b);
    const top = shown(Math.max(...rows.map((r) => r.sqnrDb)));
    best[b] = rows.filter((r) => shown(r.sqnrDb) === top).map((r) => r.scheme);
  }
  return best;
}

// One cell: a button that switches the page to this scheme and bitwidth.
function cell(r, { isBest, current }) {
  const { scheme, bitwidth: b } = r;
  return el(
    'td',
    {
      class: ['num', isBest ? 'best' : '', current ? 'current' : ''].join(' ').trim(),
      dataset: { scheme, bits: String(b), value: String(r.sqnrDb), best: isBest ? 'true' : null },
    },
    el(
      'button',
      {
        type: 'button',
        class: 'cell',
        'aria-pressed': String(current),
        'aria-label': `${scheme} at ${b} bits: SQNR ${formatDb(r.sqnrDb)}, ${r.clipped} clipped${isBest ? ', best at this bitwidth' : ''}. Use it.`,
        onclick: () => useSetting(scheme, b),
      },
      el('span', { class: 'db' }, shown(r.sqnrDb), isBest ? el('span', { class: 'star', 'aria-hidden': 'true', text: ' ★' }) : null),
      el('span', { class: 'clipped', text: r.clipped ? `${formatCount(r.clipped)} clipped` : '' }),
    ),
  );
}

export function renderCompare(c, s) {
  state.compare = c;
  const table = $('compare-table');
  table.tHead.replaceChildren(
    el(
      'tr',
      {},
      el('th', { scope: 'col', text: 'scheme' }),
      c.bitwidths.map((b) => el('th', { scope: 'col', class: 'num', text: `${b} bits` })),
    ),
  );
  const best = bestByBitwidth(c);
  table.tBodies[0].replaceChildren(
    ...c.schemes.map((scheme) =>
      el(
        'tr',
        {},
        el('th', { scope: 'row', text: scheme }),
        c.bitwidths.map((b) => {
          const r = c.rows.find((x) => x.scheme === scheme && x.bitwidth === b);
          return cell(r, { isBest: best[b].includes(scheme), current: s.scheme === scheme && s.bitwidth === b });
        }),
      ),
    ),
  );
  $('compare-sub').textContent =
    `SQNR in dB (higher is better); ★ best at each bitwidth — at ${s.bitwidth} bits: ${best[s.bitwidth].join(', ')}. Pick a cell to use it.`;
}

export function useSetting(scheme, bits) {
  $('scheme').value = scheme;
  $('bitwidth').value = String(bits);
  syncControls();
  update();
}
