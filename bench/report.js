// Renders bench/results.json's object as bench/RESULTS.md.
import { CHECKS, CONTENDERS, RATIOS } from './suite.js';
import { describePageFaults } from './probe.js';

const SIZE_NAMES = { 4096: '4K', 65536: '64K', 1048576: '1M', 16777216: '16M' };
const sizeName = (n) => SIZE_NAMES[n] ?? String(n);

function time(ms) {
  if (ms < 1) return `${(ms * 1000).toPrecision(3)} µs`;
  return `${ms.toPrecision(3)} ms`;
}

function rate(perSec) {
  if (perSec >= 1e9) return `${(perSec / 1e9).toFixed(2)} G/s`;
  return `${(perSec / 1e6).toPrecision(3)} M/s`;
}

const num = (v) => (v === undefined || v === null ? '—' : v.toFixed(v >= 100 ? 0 : 2));

function table(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

const holds = (t, v) => (t.op === '>=' ? v >= t.threshold : v <= t.threshold);

// The targets of this run, and with repeats their range over every run.
function targetsTable(res) {
  const runs = res.repeats;
  const header = ['target', 'value', 'holds'];
  if (runs) header.push(`${runs.length} runs: min–max`, 'holds in');
  return table(
    header,
    Object.entries(res.targets).map(([key, t]) => {
      const unit = key === 'e2eSingleCallUs' ? ' µs' : '×';
      const row = [t.description + (t.note ? ` (${t.note})` : ''), `${num(t.value)}${unit}`, t.pass === null ? '—' : t.pass ? 'yes' : '**no**'];
      if (runs) {
        const values = runs.map((r) => r.values[key]).filter((v) => typeof v === 'number');
        row.push(
          values.length ? `${num(Math.min(...values))}–${num(Math.max(...values))}${unit}` : '—',
          `${values.filter((v) => holds(t, v)).length} of ${runs.length}`,
        );
      }
      return row;
    }),
  );
}

// What moved between the runs: the copy every "/ yardstick" ratio divides
// by, onnxruntime-web's time, and what fresh memory cost in each process.
function repeatsNote(runs) {
  if (!runs) return [];
  const list = (key, digits) => runs.map((r) => (r[key] === null ? '—' : r[key].toFixed(digits))).join(', ');
  return [
    `The first run is the one in the tables; the others ran the Node targets (4K and 16M only) each in a fresh process, one after the other. ` +
      `Per run, at 16M: the yardstick copy took ${list('yardstickMs', 2)} ms, onnxruntime-web ${list('onnxruntimeMs', 1)} ms; ` +
      `filling 64 MiB of fresh memory took ${list('freshMs', 0)} ms.`,
    '',
  ];
}

function environment(title, r) {
  const sizes = Object.keys(r.sizes).map(Number);
  const out = [`## ${title}`, ''];
  const samples = sizes.map((n) => `${sizeName(n)}: ${r.sizes[n].stats.e2eSimd128.samples}`).join(', ');
  out.push(
    `Median of the timed samples per size (${samples}) after ${r.plan.warmup} warm-up round(s); ` +
      `contenders interleaved round-robin. Cells: time per call (elements per second). ` +
      `All cores were ${r.cpuBusy === null || r.cpuBusy === undefined ? '?' : Math.round(r.cpuBusy * 100)}% busy during this part ` +
      `(the benchmark alone keeps one core busy).`,
    '',
  );
  out.push(
    table(
      ['contender', ...sizes.map(sizeName)],
      CONTENDERS.map((c) => [c.label, ...sizes.map((n) => `${time(r.sizes[n].timesMs[c.key])} (${rate(r.sizes[n].elementsPerSec[c.key])})`)]),
    ),
    '',
  );
  out.push('Ratios (“speed-up” = their time / ours, higher is better; “/ yardstick” = ours / copy, lower is better):', '');
  out.push(
    table(
      ['ratio', ...sizes.map(sizeName)],
      [
        ...RATIOS.map((q) => [q.label, ...sizes.map((n) => num(r.sizes[n].ratios[q.key]))]),
        ['one e2e call (simd128), µs', ...sizes.map((n) => num(r.sizes[n].ratios.e2eSingleCallUs))],
      ],
    ),
    '',
  );
  out.push(
    'onnxruntime-web codes vs ours (scheme `tf`, rounding `half-even`):',
    '',
    table(
      ['size', 'differing codes', 'fraction', 'max |diff|', 'ort scale / zero point', 'our scale / zero point', 'ort vs ONNX formula in JS'],
      sizes.map((n) => {
        const m = r.sizes[n].ortMismatch;
        return [
          sizeName(n),
          String(m.differing),
          m.fraction.toExponential(2),
          String(m.maxDiff),
          `${m.ortScale.toPrecision(9)} / ${m.ortZeroPoint}`,
          `${m.oursScale.toPrecision(9)} / ${m.oursZeroPoint}`,
          String(m.ortVsOnnxFormulaInJs),
        ];
      }),
    ),
    '',
  );
  out.push(
    'Cross-checks (elements that differ, half-up; all 0 except plain JS, see Method; ' + '“max” = largest difference where not 0):',
    '',
    table(
      ['check', ...sizes.map(sizeName)],
      CHECKS.map((k) => [
        k.label,
        ...sizes.map((n) => {
          const c = r.sizes[n].checks[k.key];
          if (!c) return '—';
          const bad = c.differing !== 0 && k.key !== 'plainJsVsOurs';
          const text = `${c.differing}${c.maxDiff ? ` (max ${c.maxDiff})` : ''}`;
          return bad ? `**${text}**` : text;
        }),
      ]),
    ),
    '',
  );
  return out.join('\n');
}

// The e2e ratios of quantize(x, { out }), for information, next to the
// plain e2e row's.
function outRowInfo(res) {
  const info = Object.values(res.outRowInfo ?? {});
  if (!info.length) return [];
  const n = info[0].n;
  return [
    `For information, not targets: e2e into a caller’s Uint8Array (\`wq.quantize(x, { out })\`), Node, ${sizeName(n)} elements:`,
    '',
    table(
      ['ratio', 'into a caller’s Uint8Array', 'plain `wq.quantize(x)` (the target row)'],
      info.map((i) => [i.description, `${num(i.value)}×`, `${num(i.plainE2e)}×`]),
    ),
    '',
  ];
}

export function renderMarkdown(res) {
  const m = res.machine;
  const out = [
    '# wasmquant benchmark results',
    '',
    `Generated by \`${res.command}\` on ${res.date} in ${res.durationSeconds} s${res.quick ? ' (**quick run**)' : ''}. ` +
      'Written by bench/run.js; do not edit by hand.',
    '',
    '## Machine',
    '',
    `- CPU: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB RAM; ${m.os}`,
    `- Node ${m.node} (V8 ${m.v8}); Chromium ${m.chromium ?? '— (not run)'}; onnxruntime-web ${m.onnxruntimeWeb}`,
    `- wasmquant at git ${m.gitCommit}${m.gitDirtySources ? ' with uncommitted changes in src/web/bindings' : ''}; ` +
      `build sha256 (dist .mjs + .wasm) simd128 ${m.distSha256.simd128}…, scalar ${m.distSha256.scalar}…`,
    `- Load average (1/5/15 min) at start ${m.loadAverage.start.join(' ')}, at end ${m.loadAverage.end.join(' ')}`,
    ...(m.pageFaults ? [`- Memory: ${describePageFaults(m.pageFaults)}`] : []),
    '',
    '## Method',
    '',
    '- Data: standard normal float32 (splitmix32 + Box–Muller, fixed seed), the same bits in Node and Chromium.',
    '- Everything is 8-bit `tf` (SPEC §2). “e2e” = `wq.quantize(x)` from a JS `Float32Array` to a new ' +
      '`Uint8Array` of codes (calibrate + quantize, including the copies in and out of wasm memory); the e2e ' +
      'targets are evaluated on this row. “Into a caller’s Uint8Array” = `wq.quantize(x, { out })` with a ' +
      '`Uint8Array` allocated once per size (as the plain JS contender could do too); its ratios are shown for ' +
      'information. Dequantize likewise: to a new `Float32Array`, and into a caller’s `Float32Array`.',
    '- “In wasm memory” = nothing crosses the JS/wasm boundary: `wq.quantize(t, { out: codes })` from a float32 ' +
      '`WasmTensor` the caller filled beforehand into a uint8 `WasmTensor` (simd128 and scalar), ' +
      '`wq.dequantize(codes, encoding, { out: values })` from that uint8 tensor into a float32 tensor, and ' +
      '`wq.analyze(t)`; every tensor is allocated once per size. The in-memory targets are evaluated on these rows. ' +
      'They exclude filling the input tensor: a caller whose data starts in a Float32Array pays the yardstick on top.',
    '- Yardstick: `t.data.set(x)`, copying the same Float32Array into a wasm tensor of the same size ' +
      '(memory already touched). For reference, `new Float32Array(n).set(x)` writes fresh memory, ' +
      'which is what an API returning a new array (dequantize) pays at least.',
    '- onnxruntime-web: one-node `DynamicQuantizeLinear` model (opset 13) written as protobuf bytes in ' +
      'bench/onnx-model.js, wasm backend, `numThreads = 1`, proxy off, session created once per size, ' +
      'timed from the Float32Array (`new ort.Tensor` + `session.run`) to the uint8 codes.',
    '- Plain JS: bench/suite.js `plainJsQuantize` (min/max loop, SPEC §2 encoding, ' + '`Math.floor(x * inv + z + 0.5)` clamped into a Uint8Array).',
    '- onnxruntime-web codes are compared with ours in `half-even` mode. ONNX computes ' +
      '`saturate(RNE(x / scale) + zp)` in float32 with a float32 scale, and so do we (SPEC §2: the float32 ' +
      'division, then the zero point added exactly). Our scale is derived in double (SPEC §1) and onnxruntime ' +
      'derives its own in float32, so the scales can differ in the last digits; on this data the codes agree. ' +
      'The last column re-computes the ONNX formula in JS and counts codes where onnxruntime differs from it ' +
      '(0 expected); tests/js/onnx-bit-identity.test.js checks bit identity with the same scale and zero point.',
    '- The cross-checks count elements that differ between contenders (codes; float32 bit patterns for ' +
      'dequantize; result fields for analyze). Each `out` row is also checked to return the `out` it was given, ' +
      'after it was zeroed. Plain JS evaluates ' +
      '`floor(x * inv + z + 0.5)` in double, the library in float32, so they differ by 1 on a few per million ' +
      'elements that lie within float32 rounding of a half step; everything else must be 0.',
    '- Small sizes time batches of calls (≥ a few ms per sample) and divide; with `--expose-gc` a full GC ' +
      'runs before each sample at ≥ 1M elements (outside the timed region).',
    '',
    '## Targets (Node, 16M elements; the one-call time at 4K)',
    '',
    targetsTable(res),
    '',
    ...repeatsNote(res.repeats),
    ...outRowInfo(res),
    environment(`Node ${m.node}`, res.node),
  ];
  if (res.chromium) {
    out.push(environment(`Chromium ${res.chromium.version} (headless, crossOriginIsolated: ${res.chromium.crossOriginIsolated})`, res.chromium));
  } else {
    out.push('## Chromium', '', 'Not run (`--no-browser`).', '');
  }
  return out.join('\n');
}
