// What the command-line tests share: the CLI run as a child process, and
// the shapes of its bad-input and usage errors.
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = path.join(ROOT, 'bin/wasmquant.js');

// Resolves (never rejects) to { code, stdout, stderr }. nodeArgs go before
// the script (e.g. --preserve-symlinks).
export function cli(...args) {
  return cliWith({}, ...args);
}

export function cliWith({ script = CLI, nodeArgs = [] }, ...args) {
  return new Promise((resolve) => {
    execFile(process.execPath, [...nodeArgs, script, ...args], { cwd: ROOT, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      resolve({ code: error ? error.code : 0, stdout, stderr });
    });
  });
}

// onnxruntime's idle threads spin after a run and would slow every later
// child process on 2 cores: one thread, released when done.
export const ORT_OPTIONS = { intraOpNumThreads: 1, interOpNumThreads: 1 };

// toEqual walks a typed array element by element: seconds per megabyte.
export const sameBytes = (a, b) =>
  a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;

// JSON drops undefined keys and turns Infinity into null: compare as JSON.
export const viaJson = (x) => JSON.parse(JSON.stringify(x));

// Bad input: nothing on stdout, one line on stderr naming the file, no stack.
export function expectInputError(r, fileName, pattern) {
  expect(r.code).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr.endsWith('\n')).toBe(true);
  const lines = r.stderr.slice(0, -1).split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^wasmquant: /);
  expect(lines[0]).not.toMatch(/^wasmquant: wasmquant: /);
  expect(lines[0]).toContain(fileName);
  if (pattern) expect(lines[0]).toMatch(pattern);
}

// Usage errors: the command's help and one "wasmquant: " line saying why.
export function expectUsageError(r, command, pattern) {
  expect(r.code).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr).toContain(`Usage: wasmquant ${command}`);
  const reasons = r.stderr.split('\n').filter((l) => l.startsWith('wasmquant: '));
  expect(reasons).toHaveLength(1);
  expect(reasons[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

// util-linux script(1) gives the child a terminal, so stderr is a TTY.
export const hasScript = spawnSync('script', ['--version']).status === 0;
const shellQuote = (s) => `'${s.replace(/'/g, `'\\''`)}'`;

// The CLI on a terminal, its stdout to stdoutFile: { tty (what the
// terminal showed), stdout }.
export function onTerminal(args, stdoutFile) {
  const command = `${shellQuote(process.execPath)} ${shellQuote(CLI)} ${args.map(shellQuote).join(' ')} > ${shellQuote(stdoutFile)}`;
  const r = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  return { tty: r.stdout, stdout: fs.readFileSync(stdoutFile, 'utf8') };
}
