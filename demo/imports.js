// Bare import specifiers ('@bufbuild/protobuf', 'pkg/sub') in served
// JavaScript, rewritten to absolute URL paths under the repository root, as
// dev servers do: Chromium applies the page's import map on the main thread
// only, so a module worker importing the package's models code would fail.
// Resolution follows Node's for ESM ("exports" with the browser, import,
// default conditions); a specifier that does not resolve is left as it is.
import { readFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';

const CONDITIONS = new Set(['browser', 'import', 'module', 'default']);
const BARE = /^(@[\w.-]+\/)?[\w][\w.-]*(\/[\w./@-]*)?$/;
// import x from 'a' · import 'a' · export { x } from 'a' · import('a')
const SPECIFIERS = /(\bfrom\s*|\bimport\s*|\bimport\s*\(\s*)(["'])([^"'\s]+)\2/g;

const files = new Map(); // path → { mtime, code }
const resolved = new Map(); // directory + specifier → URL path or null
const manifests = new Map(); // package.json path → parsed or null

function manifest(path) {
  if (!manifests.has(path)) {
    let json = null;
    try {
      json = JSON.parse(readFileSync(path, 'utf8'));
    } catch {
      // missing or unreadable: remembered as null
    }
    manifests.set(path, json);
  }
  return manifests.get(path);
}

function pickCondition(target) {
  if (typeof target === 'string') return target;
  if (Array.isArray(target)) return target.map(pickCondition).find(Boolean) ?? null;
  if (target && typeof target === 'object') {
    for (const [key, value] of Object.entries(target)) {
      const hit = CONDITIONS.has(key) ? pickCondition(value) : null;
      if (hit) return hit;
    }
  }
  return null;
}

// The file a package's "exports" (or, without it, "module"/"main") gives for a subpath.
function entryOf(pkg, subpath) {
  let { exports } = pkg;
  if (exports !== undefined) {
    const sugar = typeof exports === 'string' || Array.isArray(exports) || !Object.keys(exports).some((k) => k.startsWith('.'));
    if (sugar) exports = { '.': exports };
    if (Object.hasOwn(exports, subpath)) return pickCondition(exports[subpath]);
    for (const [key, value] of Object.entries(exports)) {
      const [head, tail] = key.split('*');
      if (tail !== undefined && subpath.startsWith(head) && subpath.endsWith(tail) && subpath.length >= key.length - 1) {
        return pickCondition(value)?.replaceAll('*', subpath.slice(head.length, subpath.length - tail.length)) ?? null;
      }
    }
    return null;
  }
  if (subpath !== '.') return subpath;
  return (typeof pkg.browser === 'string' && pkg.browser) || pkg.module || pkg.main || './index.js';
}

function resolveBare(specifier, fromDir, root) {
  const [, scope = '', rest] = /^(@[^/]+\/)?(.*)$/.exec(specifier);
  const name = scope + rest.split('/')[0];
  const subpath = `.${specifier.slice(name.length)}`;
  const self = manifest(join(root, 'package.json'));
  const dirs = self?.name === name ? [root] : [];
  for (let dir = fromDir; dir.startsWith(root); dir = dirname(dir)) {
    dirs.push(join(dir, 'node_modules', name));
    if (dir === root) break;
  }
  for (const pkgDir of dirs) {
    const pkg = manifest(join(pkgDir, 'package.json'));
    if (!pkg) continue;
    const entry = entryOf(pkg, subpath);
    const file = entry && join(pkgDir, entry);
    if (file && file.startsWith(root + sep) && existsSync(file)) return `/${relative(root, file).split(sep).join('/')}`;
    return null;
  }
  return null;
}

function resolveCached(specifier, fromDir, root) {
  const key = `${fromDir}\0${specifier}`;
  if (!resolved.has(key)) resolved.set(key, resolveBare(specifier, fromDir, root));
  return resolved.get(key);
}

/** The JavaScript file's text with its resolvable bare specifiers made URL paths. */
export async function rewriteImports(file, mtime, root) {
  const cached = files.get(file);
  if (cached?.mtime === mtime) return cached.code;
  const source = await readFile(file, 'utf8');
  const code = source.replace(SPECIFIERS, (whole, lead, quote, specifier) => {
    if (!BARE.test(specifier) || specifier.startsWith('node:')) return whole;
    const path = resolveCached(specifier, dirname(file), root);
    return path ? `${lead}${quote}${path}${quote}` : whole;
  });
  files.set(file, { mtime, code });
  return code;
}
