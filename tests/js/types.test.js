// The .d.ts files type-check a consumer of every export under `strict`
// with moduleResolution bundler and nodenext, and reject misuse.
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');

function check(config) {
  const r = spawnSync(process.execPath, [tsc, '-p', join(repo, 'tests', 'types', config)], { encoding: 'utf8' });
  return { status: r.status, errors: (r.stdout + r.stderr).split('\n').filter((l) => /error TS\d+/.test(l)) };
}

describe('type declarations', () => {
  for (const mode of ['bundler', 'nodenext']) {
    it(`a consumer of every export type-checks with moduleResolution ${mode}`, () => {
      expect(check(`tsconfig.${mode}.json`)).toEqual({ status: 0, errors: [] });
    });
  }

  it('rejects an unknown format, an unknown backend and a WasmTensor result taken as a Float32Array', () => {
    const { status, errors } = check('tsconfig.misuse.json');
    expect(status).not.toBe(0);
    expect(errors.map((e) => e.replace(/^.*?\((\d+),\d+\): error (TS\d+).*$/, 'line $1 $2'))).toEqual([
      'line 7 TS2322',
      'line 8 TS2322',
      'line 9 TS2740',
    ]);
  });
});
