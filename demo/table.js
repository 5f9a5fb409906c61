// Sortable tables (channels, overview).
import { el } from './dom.js';

export function sortHeader(columns, sort, onSort) {
  return el(
    'tr',
    {},
    columns.map((c) =>
      el(
        'th',
        {
          scope: 'col',
          'aria-sort': sort.key === c.key ? (sort.dir > 0 ? 'ascending' : 'descending') : 'none',
          class: c.numeric === false ? '' : 'num',
        },
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

export function compareValues(a, b) {
  if (typeof a === 'string' || typeof b === 'string') return String(a).localeCompare(String(b));
  return a - b;
}
