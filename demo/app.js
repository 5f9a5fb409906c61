// The demo page. It imports the package as an npm user's page does (bare
// specifiers, resolved by the import map in index.html), runs all the work
// in the package's worker (wasmquant/worker, extended with ./ops.js), and
// only draws here; each of its parts has a module of its own.
import { connectWorker } from 'wasmquant/worker';
import { renderChannels } from './channels.js';
import { $, showError } from './dom.js';
import { download } from './downloads.js';
import { initModels } from './models/panel.js';
import { drawPlots, setView } from './results.js';
import { syncBitwidthButtons, syncControls } from './settings.js';
import { loaded, loadSample, openFiles } from './source.js';
import { session, state } from './state.js';
import { run, setStatus } from './status.js';
import { scheduleUpdate, update } from './update.js';

// The drop zone and file picker; a file dropped anywhere opens here.
function wireInput() {
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
}

// The sample button, the shape of a raw .bin, and the settings form.
function wireSettings() {
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
}

// The tensor's granularity, the plots' view and the result panels.
function wireResults() {
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
  wireInput();
  wireSettings();
  wireResults();
  initModels({ run, setStatus });
  syncControls();
  try {
    const worker = new Worker(import.meta.resolve('wasmquant/worker'), { type: 'module', name: 'wasmquant' });
    session.client = connectWorker(worker);
    const { backend } = await session.client.call('createQuantizer', []);
    await session.client.call('extend', [new URL('./ops.js', import.meta.url).href]);
    $('backend').textContent = backend === 'simd128' ? 'wasm SIMD128' : 'wasm scalar';
    await loadSample();
  } catch (e) {
    $('backend').textContent = 'not loaded';
    setStatus('error', `The quantizer did not start: ${e.message}`);
    showError('results-error', `The quantizer did not start: ${e.message}. Serve the page with \`npm start\` after \`npm run build\`.`);
  }
}

start();
