#!/usr/bin/env node
// Serves the repository root on 127.0.0.1 so that demo/index.html can import
// the package (web/, dist/) as an npm user's page would; prints the demo's URL.
//   node demo/serve.js            port from $PORT, else 8080, else any free port
// Static files only: GET/HEAD, nothing outside the repository, no listings.
// JavaScript under web/, demo/ and node_modules/ has its bare import specifiers
// rewritten to paths (imports.js): module workers ignore the page's import map.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rewriteImports } from './imports.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const HOST = '127.0.0.1';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.npy': 'application/octet-stream',
  '.safetensors': 'application/octet-stream',
  '.bin': 'application/octet-stream',
};

// Only the page's own origin: no CDN, no network. Inline scripts (the import
// map) are allowed by their hash; wasm compilation needs 'wasm-unsafe-eval'.
async function contentSecurityPolicy(html) {
  const hashes = [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)]
    .filter((m) => m[1].trim() !== '')
    .map((m) => `'sha256-${createHash('sha256').update(m[1]).digest('base64')}'`);
  return [
    "default-src 'self'",
    `script-src 'self' 'wasm-unsafe-eval' ${hashes.join(' ')}`.trim(),
    "worker-src 'self'",
    "connect-src 'self'",
    "img-src 'self' data: blob:",
    "style-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

// The file a request names, or null after answering it (bad method or
// path, a redirect, or a path outside the repository or hidden).
function requestedFile(req, res) {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD' }).end();
    return null;
  }
  let path;
  try {
    path = decodeURIComponent(new URL(req.url, `http://${HOST}`).pathname);
  } catch {
    res.writeHead(400).end();
    return null;
  }
  if (path === '/') {
    res.writeHead(302, { Location: '/demo/' }).end();
    return null;
  }
  const file = resolve(ROOT, `.${path}`);
  if (file !== ROOT && !file.startsWith(ROOT + sep)) {
    res.writeHead(403).end();
    return null;
  }
  if (path.split('/').some((part) => part.startsWith('.') && part !== '')) {
    res.writeHead(404).end(); // .git, .ci, ...
    return null;
  }
  return { path, file };
}

function sendText(req, res, headers, text) {
  headers['Content-Length'] = Buffer.byteLength(text);
  res.writeHead(200, headers);
  res.end(req.method === 'HEAD' ? undefined : text);
}

async function handle(req, res) {
  const target = requestedFile(req, res);
  if (!target) return;
  const { path } = target;
  let { file } = target;
  try {
    let info = await stat(file);
    if (info.isDirectory()) {
      if (!path.endsWith('/')) {
        res.writeHead(301, { Location: `${path}/` }).end();
        return;
      }
      file = join(file, 'index.html');
      info = await stat(file);
    }
    if (!info.isFile()) throw new Error('not a file');
    const headers = {
      'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
    };
    if (extname(file) === '.html') {
      const html = await readFile(file, 'utf8');
      headers['Content-Security-Policy'] = await contentSecurityPolicy(html);
      sendText(req, res, headers, html);
    } else if (/^\/(web|demo|node_modules)\//.test(path) && /\.m?js$/.test(file)) {
      sendText(req, res, headers, await rewriteImports(file, info.mtimeMs, ROOT));
    } else {
      headers['Content-Length'] = info.size;
      res.writeHead(200, headers);
      if (req.method === 'HEAD') res.end();
      else
        createReadStream(file)
          .on('error', () => res.destroy())
          .pipe(res);
    }
  } catch {
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`Not found: ${path}\n`);
  }
}

function listen(server, port) {
  return new Promise((ok, fail) => {
    const onError = (e) => {
      server.off('listening', onListening);
      fail(e);
    };
    const onListening = () => {
      server.off('error', onError);
      ok(server.address().port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, HOST);
  });
}

/** Starts the server; resolves to { server, port, url }. */
export async function startServer({ port = process.env.PORT, quiet = false } = {}) {
  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  const wanted = port === undefined || port === '' ? 8080 : Number(port);
  if (!Number.isInteger(wanted) || wanted < 0 || wanted > 65535) {
    throw new RangeError(`PORT must be an integer from 0 to 65535, got ${JSON.stringify(port)}`);
  }
  let actual;
  try {
    actual = await listen(server, wanted);
  } catch (e) {
    if (e.code !== 'EADDRINUSE' && e.code !== 'EACCES') throw e;
    actual = await listen(server, 0);
    if (!quiet) console.log(`port ${wanted} is busy; using ${actual}`);
  }
  const url = `http://${HOST}:${actual}/demo/`;
  return { server, port: actual, url };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { server, url } = await startServer();
  console.log(`wasmquant demo: ${url}`);
  console.log('(serving the repository root on 127.0.0.1; Ctrl+C stops it)');
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
