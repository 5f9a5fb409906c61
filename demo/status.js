// The status line, the progress bar, and calls into the worker with them.
import { $ } from './dom.js';
import { session } from './state.js';

let progressTimer = null;

export function setStatus(status, text) {
  document.body.dataset.status = status;
  $('status-text').textContent = text;
  $('results').setAttribute('aria-busy', String(status === 'busy'));
}

export function showProgress(fraction, label, { immediate = false } = {}) {
  const box = $('progress');
  $('progress-bar').value = Math.max(0, Math.min(1, fraction));
  $('progress-label').textContent = `${label} — ${Math.round(fraction * 100)} %`;
  if (box.hidden && !progressTimer) {
    if (immediate) box.hidden = false;
    else progressTimer = setTimeout(() => (box.hidden = false), 250);
  }
}

export function hideProgress() {
  clearTimeout(progressTimer);
  progressTimer = null;
  $('progress').hidden = true;
}

// Runs a worker method with the progress bar.
export async function run(method, args, { label, transfer, immediate } = {}) {
  try {
    return await session.client.call(method, args, {
      transfer,
      onProgress: (p) => showProgress(p.fraction, p.label ?? label, { immediate }),
    });
  } finally {
    if (session.client.pending === 0) hideProgress();
  }
}
