// The download buttons.
import { saveBytes, showError } from './dom.js';
import { settings } from './settings.js';
import { state } from './state.js';
import { run } from './status.js';

export async function download(button) {
  const what = button.dataset.export;
  const format = button.dataset.format;
  showError('download-error', null);
  const buttons = document.querySelectorAll('[data-export]');
  for (const b of buttons) b.disabled = true;
  try {
    const { bytes, fileName, type } = await run('exportData', [what, format, settings(), state.selected, state.axes], { label: `Preparing ${what}` });
    saveBytes(fileName, bytes, type);
  } catch (e) {
    showError('download-error', `Could not prepare the download: ${e.message}`);
  } finally {
    for (const b of buttons) b.disabled = false;
  }
}
