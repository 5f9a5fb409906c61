// The settings form: what it says, and keeping it in step with the tensor.
import { $, el } from './dom.js';
import { formatCount } from './format.js';
import { state } from './state.js';

export const MAX_CHANNELS = 65536; // per-channel choices offered

export function settings() {
  const bitwidth = Number($('bitwidth').value);
  const s = {
    scheme: $('scheme').value,
    bitwidth: Number.isInteger(bitwidth) && bitwidth >= 2 && bitwidth <= 16 ? bitwidth : 8,
    rounding: $('rounding').value,
  };
  if (s.scheme === 'percentile') {
    const p = Number($('percentile').value);
    s.percentile = p >= 50 && p <= 100 ? p : 99.99;
  }
  return s;
}

export function axisOf(name) {
  return state.axes[name] ?? null;
}

export function resultKey(name, s, axis) {
  return [name, s.scheme, s.bitwidth, s.rounding, s.percentile ?? '', axis ?? 'tensor'].join('|');
}

export function syncBitwidthButtons() {
  const bits = Number($('bitwidth').value);
  for (const b of document.querySelectorAll('[data-bits]')) b.setAttribute('aria-pressed', String(Number(b.dataset.bits) === bits));
}

export function syncControls() {
  $('percentile-field').hidden = $('scheme').value !== 'percentile';
  syncBitwidthButtons();
  const t = currentTensor();
  const axisSelect = $('axis');
  axisSelect.replaceChildren(el('option', { value: '', text: 'per tensor' }));
  if (t) {
    t.shape.forEach((d, i) => {
      if (d > 1 && d <= MAX_CHANNELS && t.shape.length > 1) {
        axisSelect.append(el('option', { value: String(i), text: `per channel, axis ${i} (${formatCount(d)} channels)` }));
      }
    });
    const axis = axisOf(t.name);
    axisSelect.value = axis === null ? '' : String(axis);
  }
  axisSelect.disabled = axisSelect.options.length < 2;
  $('axis-help').textContent = axisSelect.disabled
    ? 'This tensor has no axis to split into channels.'
    : 'Per channel: one encoding per slice along the axis (0 for PyTorch/ONNX conv weights, the last for TF).';
}

export function currentTensor() {
  return state.source?.tensors.find((t) => t.name === state.selected) ?? null;
}
