// The npm package as a user gets it: `npm pack`, install the tarball into an
// empty project (preferring npm's cache, which `npm ci` filled with the
// dependencies' tarballs; npm 11 may still ask the registry for their full
// metadata, which `--offline` turned into ENOTCACHED on a fresh machine),
// import it by name, run its command.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const manifest = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));

// A clean environment for child processes: nothing of vitest's, no npm
// settings inherited from an enclosing `npm test`.
function childEnv() {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('npm_') || key.startsWith('VITEST') || key === 'NODE_OPTIONS') continue;
    env[key] = value;
  }
  return env;
}

function run(command, args, cwd) {
  return execFileSync(command, args, {
    cwd,
    env: childEnv(),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 16 * 1024 * 1024,
  });
}

// Runs in the consumer project: imports the package by name only.
const CONSUMER_SCRIPT = `
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createQuantizer } from 'wasmquant';
import { quantizeModel } from 'wasmquant/models';

const out = { resolved: {}, results: {} };
for (const specifier of ['wasmquant', 'wasmquant/wasm/simd128.wasm', 'wasmquant/wasm/scalar.wasm', 'wasmquant/package.json']) {
  const url = import.meta.resolve(specifier);
  const path = fileURLToPath(url);
  const entry = { path };
  if (path.endsWith('.wasm')) entry.validWasm = WebAssembly.validate(readFileSync(path));
  out.resolved[specifier] = entry;
}
for (const specifier of ['wasmquant/web/loader.js', 'wasmquant/dist/wasmquant-simd128.mjs', 'wasmquant/src/encoding.cpp']) {
  try {
    await import(specifier);
    out.resolved[specifier] = 'importable';
  } catch (e) {
    out.resolved[specifier] = e.code ?? e.message;
  }
}
for (const backend of [undefined, 'simd128', 'scalar']) {
  const wq = await createQuantizer(backend ? { backend } : undefined);
  const { codes, encoding } = wq.quantize(Float32Array.of(-1.8, -1.0, 0, 0.5));
  const x2 = wq.dequantize(codes, encoding);
  out.results[backend ?? 'default'] = { backend: wq.backend, codes: Array.from(codes), encoding, x2: Array.from(x2) };
}
const vad = readFileSync(process.env.VAD_MODEL);
const model = await quantizeModel({ 'vad.onnx': vad });
out.model = { files: Object.keys(model.files), quantized: model.totals.quantized, ratio: model.files['vad.onnx'].length / vad.length };
console.log(JSON.stringify(out));
`;

describe('the npm package', () => {
  let tmp;
  let tarball;
  let entries;
  let consumer;

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'wasmquant-pack-'));
    const packDir = join(tmp, 'pack');
    mkdirSync(packDir);
    // runs the prepack build (incremental) and writes the tarball
    run('npm', ['pack', '--pack-destination', packDir, '--silent'], repo);
    const tgz = readdirSync(packDir).filter((f) => f.endsWith('.tgz'));
    expect(tgz).toEqual([`wasmquant-${manifest.version}.tgz`]);
    tarball = join(packDir, tgz[0]);
    entries = run('tar', ['-tzf', tarball], tmp).split('\n').filter(Boolean);

    consumer = join(tmp, 'consumer');
    mkdirSync(consumer);
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }, null, 2));
    run('npm', ['install', tarball, '--no-audit', '--no-fund', '--prefer-offline'], consumer);
  });

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('contains the runtime files and no sources, tests or build trees', () => {
    const files = entries.map((e) => e.replace(/^package\//, ''));
    for (const needed of [
      'package.json',
      'web/index.js',
      'web/loader.js',
      'web/options.js',
      'web/errors.js',
      'dist/wasmquant-simd128.mjs',
      'dist/wasmquant-simd128.wasm',
      'dist/wasmquant-scalar.mjs',
      'dist/wasmquant-scalar.wasm',
    ]) {
      expect(files).toContain(needed);
    }
    for (const file of files) {
      expect(file).not.toMatch(/^(src|tests|build|bindings|node_modules)\//);
      expect(file).not.toMatch(/\.(cpp|h|cc|tgz)$/);
    }
  });

  it('every path in the exports map and "main"/"types" is in the tarball', () => {
    const files = new Set(entries.map((e) => e.replace(/^package\//, '')));
    const targets = [];
    const collect = (value) => {
      if (typeof value === 'string') targets.push(value);
      else if (value && typeof value === 'object') Object.values(value).forEach(collect);
    };
    collect(manifest.exports);
    collect(manifest.main);
    collect(manifest.types);
    expect(targets.length).toBeGreaterThan(4);
    for (const target of targets) {
      expect(files, `${target} is missing from the tarball`).toContain(target.replace(/^\.\//, ''));
    }
  });

  it('installs offline and works when imported by name', () => {
    const installed = join(consumer, 'node_modules', 'wasmquant');
    expect(existsSync(join(installed, 'package.json'))).toBe(true);
    expect(existsSync(join(installed, 'src'))).toBe(false);
    writeFileSync(join(consumer, 'check.mjs'), CONSUMER_SCRIPT);
    const vad = join(repo, 'node_modules/@ricky0123/vad-web/dist/silero_vad_legacy.onnx');
    const out = JSON.parse(
      execFileSync(process.execPath, ['check.mjs'], { cwd: consumer, env: { ...childEnv(), VAD_MODEL: vad }, encoding: 'utf8' })
        .trim()
        .split('\n')
        .pop(),
    );

    // export paths resolve into the installed package, not the repo
    for (const specifier of ['wasmquant', 'wasmquant/wasm/simd128.wasm', 'wasmquant/wasm/scalar.wasm', 'wasmquant/package.json']) {
      const entry = out.resolved[specifier];
      expect(entry.path.startsWith(installed), `${specifier} → ${entry.path}`).toBe(true);
      expect(existsSync(entry.path)).toBe(true);
    }
    expect(out.resolved['wasmquant/wasm/simd128.wasm'].path).toBe(join(installed, 'dist', 'wasmquant-simd128.wasm'));
    expect(out.resolved['wasmquant/wasm/scalar.wasm'].path).toBe(join(installed, 'dist', 'wasmquant-scalar.wasm'));
    expect(out.resolved['wasmquant/wasm/simd128.wasm'].validWasm).toBe(true);
    expect(out.resolved['wasmquant/wasm/scalar.wasm'].validWasm).toBe(true);
    // internal files are not part of the public surface
    for (const specifier of ['wasmquant/web/loader.js', 'wasmquant/dist/wasmquant-simd128.mjs', 'wasmquant/src/encoding.cpp']) {
      expect(out.resolved[specifier], specifier).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
    }

    // SPEC's worked example
    expect(out.results.default.backend).toBe('simd128');
    for (const name of ['default', 'simd128', 'scalar']) {
      const r = out.results[name];
      expect(r.codes, name).toEqual([0, 89, 200, 255]);
      expect(r.encoding.offset).toBe(-200);
      expect(Math.abs(r.encoding.scale / 0.009019607843137253 - 1)).toBeLessThan(1e-6);
      expect(r.x2[2]).toBe(0);
    }
    expect(out.results.scalar.backend).toBe('scalar');

    // wasmquant/models with its protobuf dependency, from the installed package
    expect(out.model.files).toEqual(['vad.onnx']);
    expect(out.model.quantized).toBeGreaterThan(10);
    expect(out.model.ratio).toBeLessThan(0.3);
  });

  it('installs the wasmquant command', () => {
    const bin = join(consumer, 'node_modules', '.bin', 'wasmquant');
    expect(run(bin, ['--version'], consumer).trim()).toBe(manifest.version);
    const table = run(bin, ['inspect', join(repo, 'node_modules/@ricky0123/vad-web/dist/silero_vad_legacy.onnx')], consumer);
    expect(table).toMatch(/forward_basis_buffer/);
  });
});
