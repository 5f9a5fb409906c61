// Recomputing what is shown when a setting or the tensor changes.
import { renderCompare } from './compare.js';
import { renderOverview } from './overview.js';
import { clearResults, renderAnalysis } from './results.js';
import { axisOf, resultKey, settings } from './settings.js';
import { session, state } from './state.js';
import { run, setStatus } from './status.js';

let updateTimer = null;

export function scheduleUpdate(delay = 120) {
  clearTimeout(updateTimer);
  updateTimer = setTimeout(update, delay);
}

export async function update() {
  clearTimeout(updateTimer);
  const g = ++session.generation;
  const name = state.selected;
  if (!name || !session.client) return;
  const s = settings();
  const axis = axisOf(name);
  const key = resultKey(name, s, axis);
  const started = performance.now();
  setStatus('busy', 'Quantizing…');
  try {
    const view = state.view === 'all' ? null : state.view; // 'worst' is resolved by the worker
    const a = await run('analyzeTensor', [name, { ...s, axis }, view], { label: 'Quantizing' });
    if (g !== session.generation) return;
    renderAnalysis({ ...a, settings: s, key });

    const compareKey = [name, s.bitwidth, s.rounding, s.percentile ?? '', axis ?? ''].join('|');
    if (state.rendered.compare !== compareKey) {
      setStatus('busy', 'Comparing schemes…');
      const c = await run('compare', [name, { ...s, axis }], { label: 'Comparing schemes and bitwidths' });
      if (g !== session.generation) return;
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
        if (g !== session.generation) return;
        state.rendered.overview = overviewKey;
        renderOverview({ ...o, settings: s });
      } else {
        renderOverview(state.overview);
      }
    }
    setStatus('ready', `Ready · ${(performance.now() - started).toFixed(0)} ms`);
  } catch (e) {
    if (g !== session.generation) return;
    clearResults(e.message);
    setStatus('ready', 'Ready — the last setting failed');
  }
}
