// The download buttons.
import { $, el, showError } from './dom.js';
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
