// Drawing the calibration card's results: the summary, the totals and one
// row per calibrated activation. Numbers are also kept unrounded in data-*
// attributes, for a test (or a script) to read what the page shows.
import { $, el } from '../dom.js';
import { formatBytes, formatDb, formatNumber } from '../format.js';
import { metric } from './render.js';

const typeOf = (e) => `${e.isSymmetric ? 'int' : 'uint'}${e.bitwidth}`;
const dbText = (v) => (v === undefined ? '—' : v === Infinity ? '∞' : v.toFixed(2));

function activationRow(a) {
  const e = a.encoding;
  const range = a.min === undefined ? '—' : `${formatNumber(a.min)} … ${formatNumber(a.max)}`;
  return el(
    'tr',
    {
      dataset: {
        name: a.name,
        min: String(a.min ?? ''),
        max: String(a.max ?? ''),
        scale: String(e.scale),
        offset: String(e.offset),
        bitwidth: String(e.bitwidth),
        symmetric: String(e.isSymmetric),
        sqnr: String(a.sqnrDb ?? ''),
      },
    },
    el('th', { scope: 'row', class: 'wname', text: a.name }),
    el('td', { class: 'num', text: range }),
    el('td', { class: 'num', text: formatNumber(e.scale) }),
    el('td', { class: 'num', text: String(e.offset) }),
    el('td', { text: typeOf(e) }),
    el('td', { class: `num ${a.sqnrDb !== undefined && a.sqnrDb < 20 ? 'bad' : ''}`.trim(), text: dbText(a.sqnrDb) }),
  );
}

/**
 * The result of calibrateModel: `run` is { feeds, source, ms, runtime },
 * what was fed and how long it took.
 */
export function renderCalibration(result, run) {
  const rows = result.activations;
  const over = `over ${run.feeds} ${run.source} in ${(run.ms / 1000).toFixed(1)} s (${run.runtime})`;
  const weights = `${result.totals.quantized} of ${result.totals.weights} weights quantized`;
  $('m-cal-summary').textContent =
    rows.length > 0
      ? `${rows.length} activations calibrated ${over}, weights and activations written as QDQ; ${weights}.`
      : `No activation to calibrate ${over}: these inputs ran none of the integer-capable ops calibration reads (those of Loop and Scan bodies are not read). The model written has only its weights quantized (${weights}).`;
  const finite = rows.filter((a) => Number.isFinite(a.sqnrDb));
  const worst = finite.reduce((w, a) => (w === null || a.sqnrDb < w.sqnrDb ? a : w), null);
  const t = result.totals;
  $('m-cal-totals').replaceChildren(
    metric('Activations', String(rows.length), rows.length, true),
    metric('Worst activation SQNR', worst ? `${formatDb(worst.sqnrDb)} (${worst.name})` : '—', worst?.sqnrDb ?? ''),
    metric('Model size', `${formatBytes(t.bytesBefore)} → ${formatBytes(t.bytesAfter)}`, t.bytesAfter),
  );
  $('m-cal-table').tBodies[0].replaceChildren(...rows.map(activationRow));
}
