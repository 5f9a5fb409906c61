// Files in and out, bad-input errors and the progress bar, shared by the
// commands.
import fs from 'node:fs';
import path from 'node:path';
import cliProgress from 'cli-progress';

// Bad input: reported as one line and exit code 1, unlike usage errors.
// file, when given, is the file the line names (a feed, not the model).
export class InputError extends Error {
  constructor(message, file) {
    super(message);
    this.file = file;
  }
}

export function statInput(file) {
  let stat;
  try {
    stat = fs.statSync(file);
  } catch (e) {
    throw new InputError(`${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  }
  if (!stat.isFile()) throw new InputError(`${file}: not a file`);
  return stat;
}

// The model plus every other file beside it, as lazy Blobs: the adapter
// picks the external data or shards it needs and reads only those bytes.
export async function modelFiles(file) {
  const dir = path.dirname(file);
  const files = {};
  let size = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (!entry.isFile() && !(entry.isSymbolicLink() && fs.statSync(full, { throwIfNoEntry: false })?.isFile())) continue;
    files[entry.name] = await fs.openAsBlob(full);
    size += files[entry.name].size;
  }
  return { files, size };
}

// -o: resolved, and never the input's own directory.
export function outputDir(file, output) {
  const outDir = path.resolve(output);
  if (path.resolve(path.dirname(file)) === outDir) throw new InputError(`${file}: -o ${output} would overwrite the input; choose another directory`);
  return outDir;
}

// Writes the result's files and <base>.encodings.json; returns [{ path, bytes }].
export function writeOutputs(outDir, modelName, files, encodings) {
  const written = [];
  fs.mkdirSync(outDir, { recursive: true });
  for (const [outName, bytes] of Object.entries(files)) {
    const target = path.join(outDir, outName);
    fs.writeFileSync(target, bytes);
    written.push({ path: target, bytes: bytes.length });
  }
  const encodingsPath = path.join(outDir, `${modelName.replace(/\.[^.]*$/, '')}.encodings.json`);
  const text = `${JSON.stringify(encodings, null, 2)}\n`;
  fs.writeFileSync(encodingsPath, text);
  written.push({ path: encodingsPath, bytes: Buffer.byteLength(text) });
  return written;
}

export function progressBar(enabled) {
  if (!enabled) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: '{phase} [{bar}] {value}/{total} {name}', clearOnComplete: true, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update({ phase, done, total, name }) {
      const payload = { phase: phase.padEnd(8), name: name.length > 50 ? `…${name.slice(-49)}` : name };
      if (!started) {
        bar.start(total, done, payload);
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(done, payload);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
