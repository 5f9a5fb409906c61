// The bytes of the page's downloads.
import { analyzed, optionsFor } from './analysis.js';
import { roundTrip, runs } from './runs.js';
import { fail, loadedSource, tensor } from './source.js';

export function safeName(name) {
  return name.replace(/[^\w.-]+/g, '_').replace(/^[._]+/, '') || 'tensor';
}

export function fileBase() {
  if (loadedSource().kind === 'sample') return 'sample';
  return safeName(loadedSource().name.replace(/\.[^.]*$/, ''));
}

/**
 * Bytes for a download: what = 'codes' | 'dequantized' | 'encodings';
 * format = 'npy' (the tensor `name`) | 'safetensors' (every tensor) |
 * '0.6.1' | '1.0.0' (encodings of every tensor). Each tensor uses its own
 * axis from `axes`.
 */
export function exportData({ quantizer, api, progress }, what, format, settings, name, axes = {}) {
  if (!loadedSource()) fail('no file is loaded');
  const all = format !== 'npy';
  const list = (all ? [...loadedSource().tensors.values()] : [tensor(name)]).filter((t) => t.data.length > 0);
  const out = {};
  const encodings = {};
  list.forEach((t, i) => {
    progress(i / list.length, `${what}: ${t.name}`);
    const o = optionsFor(t, { ...settings, axis: axes[t.name] ?? null });
    const { data, encoding } = exportTensor(quantizer, what, t, o);
    if (data) out[t.name] = { data, shape: t.shape };
    encodings[t.name] = encoding;
  });
  progress(1, 'Done');
  const tag = `${settings.scheme}-${settings.bitwidth}bit`;
  if (what === 'encodings') return encodingsFile(api, encodings, format, tag);
  const stem = what === 'codes' ? `codes-${tag}` : `dequantized-${tag}`;
  if (format === 'npy') {
    const t = out[name];
    return { bytes: api.writeNpy(t.data, t.shape), fileName: `${safeName(name)}.${stem}.npy`, type: 'application/octet-stream' };
  }
  if (format !== 'safetensors') fail(`unknown format "${format}"`);
  const metadata = { format: 'wasmquant', content: what, encodings: JSON.stringify(api.toAimetEncodings(encodings, { version: '1.0.0' })) };
  return { bytes: api.writeSafetensors(out, metadata), fileName: `${fileBase()}.${stem}.safetensors`, type: 'application/octet-stream' };
}

// One tensor's part of a download: its encoding, and its codes or
// dequantized values (none for encodings only).
function exportTensor(quantizer, what, t, o) {
  if (what === 'encodings') return { data: null, encoding: analyzed(quantizer, t, o).encoding };
  if (what === 'codes') {
    const { codes, encoding } = quantizer.quantize(t.data, o);
    return { data: codes, encoding };
  }
  if (what !== 'dequantized') fail(`unknown export "${what}"`);
  const { encoding } = analyzed(quantizer, t, o);
  const xhat = new Float32Array(t.data.length);
  roundTrip(quantizer, t, o, encoding, runs(t.data.length, o, encoding), (run, x, codes, y) => xhat.set(y, run.start));
  return { data: xhat, encoding };
}

function encodingsFile(api, encodings, format, tag) {
  if (format !== '0.6.1' && format !== '1.0.0') fail(`encodings are AIMET 0.6.1 or 1.0.0 JSON, not "${format}"`);
  const json = JSON.stringify(api.toAimetEncodings(encodings, { version: format }), null, 2);
  return {
    bytes: new TextEncoder().encode(`${json}\n`),
    fileName: `${fileBase()}.${tag}.encodings-${format}.json`,
    type: 'application/json',
  };
}
