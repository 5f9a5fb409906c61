// The loaded file: opening files and the sample, and the list of its tensors.
import { $, el, shapeText, showError } from './dom.js';
import { formatBytes, formatCount } from './format.js';
import { isModelSet, leaveModels, openModels } from './models/panel.js';
import { clearResults } from './results.js';
import { syncControls } from './settings.js';
import { session, state } from './state.js';
import { run, setStatus } from './status.js';
import { update } from './update.js';

export function renderSource() {
  const { source } = state;
  $('source-name').textContent = source ? `Loaded: ${source.name}` : '';
  const list = $('tensor-list');
  list.replaceChildren(el('legend', { class: 'sr-only', text: 'Tensor to inspect' }));
  $('tensor-count').textContent = source ? `(${source.tensors.length})` : '';
  for (const t of source?.tensors ?? []) {
    const empty = t.count === 0;
    const id = `tensor-${list.children.length}`;
    const input = el('input', {
      type: 'radio',
      name: 'tensor',
      id,
      value: t.name,
      checked: t.name === state.selected,
      disabled: empty,
      onchange: () => selectTensor(t.name),
    });
    const dtype = t.dtype === 'float32' ? 'float32' : `${t.dtype} → float32`;
    list.append(
      el(
        'label',
        { class: 'tensor', for: id },
        input,
        el('span', { class: 'tname', text: t.name }),
        el('span', {
          class: 'tmeta',
          text: `${dtype} · ${shapeText(t.shape)} · ${formatCount(t.count)} values · ${formatBytes(t.bytes)}${empty ? ' · empty' : ''}`,
        }),
      ),
    );
  }
  const multi = (source?.tensors.length ?? 0) > 1;
  $('overview').hidden = !multi;
  for (const b of document.querySelectorAll('.all-tensors'))
    b.textContent = multi ? `all ${source.tensors.length} tensors .safetensors` : 'this tensor .safetensors';
  $('download-help').textContent = multi
    ? 'Encodings and .safetensors files cover every tensor of the file, each with its own granularity.'
    : 'The codes are uint8/uint16 (int8/int16 when symmetric); the encodings follow the QNN convention.';
}

export function selectTensor(name) {
  state.selected = name;
  state.view = 'worst';
  state.showAllChannels = false;
  syncControls();
  update();
}

export function loaded(source, preferred) {
  state.source = source;
  state.axes = {};
  state.rendered = { compare: null, overview: null };
  const usable = source.tensors.filter((t) => t.count > 0);
  state.selected = (usable.find((t) => t.name === preferred) ?? usable[0])?.name ?? null;
  state.view = 'worst';
  state.showAllChannels = false;
  state.channelSort = { key: 'sqnrDb', dir: 1 };
  state.overviewSort = { key: null, dir: 1 };
  renderSource();
  syncControls();
  if (state.selected) update();
  else {
    clearResults('Every tensor in this file is empty: nothing to quantize.');
    setStatus('ready', 'Ready');
  }
}

// Several files, or an .onnx / model.json among them: the models panel.
export function openFiles(files) {
  const list = [...(files ?? [])];
  if (list.length === 0) return;
  if (isModelSet(list)) {
    session.generation += 1; // a tensor result still on its way is stale
    openModels(list);
    return;
  }
  leaveModels();
  openFile(list[0]);
}

export async function openFile(file) {
  if (!file) return;
  showError('input-error', null);
  setStatus('busy', `Reading ${file.name}…`);
  session.generation += 1; // results of the previous file are now stale
  try {
    const source = await run('openFile', [file, { shape: $('bin-shape').value }], { label: `Reading ${file.name}`, immediate: true });
    loaded(source);
  } catch (e) {
    showError('input-error', `Could not open "${file.name}": ${e.message}`);
    setStatus('ready', 'Ready — the previous tensor is still loaded');
    if (state.selected) update();
  }
}

export async function loadSample() {
  leaveModels();
  showError('input-error', null);
  const source = await run('loadSample', []);
  loaded(source, 'conv1.weight');
}
