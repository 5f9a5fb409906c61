// Shared by the Chromium tests: the demo's server on a free port, Debian's
// Chromium through playwright-core with a throwaway profile, and a log of
// every request and page error (for the "nothing left 127.0.0.1" checks).
// The same launch as tests/e2e/demo.test.js.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startServer } from '../../demo/serve.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** → { origin, context, page, requests, pageErrors, tmp, close() } */
export async function openBrowser({ viewport = { width: 1440, height: 1000 } } = {}) {
  const tmp = mkdtempSync(join(os.tmpdir(), 'wasmquant-e2e-'));
  const profile = mkdtempSync(join(os.tmpdir(), 'wasmquant-e2e-chromium-'));
  const { server } = await startServer({ port: 0, quiet: true });
  const origin = `http://127.0.0.1:${server.address().port}`;
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    viewport,
    acceptDownloads: true,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(30_000);
  const requests = [];
  const pageErrors = [];
  context.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
  const close = async () => {
    await context.close();
    server.close();
    server.closeAllConnections?.();
    for (const dir of [profile, tmp]) rmSync(dir, { recursive: true, force: true });
  };
  return { origin, context, page, requests, pageErrors, tmp, close };
}

/** The requests that went anywhere but the page's own origin (blob: and data: are local). */
export const outsideRequests = (requests, origin) =>
  requests.filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith('blob:') && !u.startsWith('data:'));
