// bench/RESULTS.md is bench/run.js's report followed by sections that other
// scripts own (## Models, ## Demo, ## Calibration): each rewrites only its own.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const RESULTS = join(dirname(fileURLToPath(import.meta.url)), 'RESULTS.md');

// Replaces the section titled `## ${title}` with text (which starts with that
// heading), or appends it; the sections after it stay.
export function writeSection(title, text) {
  const old = readFileSync(RESULTS, 'utf8');
  const heading = `## ${title}`;
  const start = old.indexOf(`\n${heading}\n`) + 1;
  const rest = start < 1 ? '' : old.slice(start + heading.length).replace(/^[\s\S]*?(?=\n## |$)/, '');
  writeFileSync(RESULTS, `${(start < 1 ? old : old.slice(0, start)).trimEnd()}\n\n${text.trimEnd()}\n${rest}`);
}
