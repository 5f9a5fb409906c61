// Shared by the e2e suites: the demo's server on a free port, one browser
// (Chromium or Firefox ESR, behind driver.js's Page) with a throwaway
// profile, and a log of every request and page error (for the "nothing left
// 127.0.0.1" checks).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { startServer } from '../../demo/serve.js';
import { launchChromium } from './driver-chromium.js';
import { launchFirefox } from './driver-firefox.js';

const LAUNCH = { chromium: launchChromium, firefox: launchFirefox };

/** The engines each suite runs in; E2E_BROWSERS=firefox (say) runs one. */
export const BROWSERS = (process.env.E2E_BROWSERS ?? 'chromium,firefox').split(',').map((b) => b.trim());
for (const b of BROWSERS) if (!LAUNCH[b]) throw new Error(`E2E_BROWSERS: unknown browser "${b}" (chromium, firefox)`);

/** → { origin, page, requests, pageErrors, tmp, close() } */
export async function openBrowser(name, { viewport = { width: 1440, height: 1000 } } = {}) {
  const tmp = mkdtempSync(join(os.tmpdir(), `wasmquant-e2e-${name}-`));
  const { server } = await startServer({ port: 0, quiet: true });
  const origin = `http://127.0.0.1:${server.address().port}`;
  const requests = [];
  const pageErrors = [];
  let browser;
  try {
    browser = await LAUNCH[name]({ viewport, tmp, requests, pageErrors });
    await browser.page.prepare();
  } catch (e) {
    await browser?.close();
    server.close();
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  const close = async () => {
    await browser.close();
    server.close();
    server.closeAllConnections?.();
    rmSync(tmp, { recursive: true, force: true });
  };
  return { origin, page: browser.page, requests, pageErrors, tmp, close };
}

/** The requests that went anywhere but the page's own origin (blob: and data: are local). */
export const outsideRequests = (requests, origin) =>
  requests.filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith('blob:') && !u.startsWith('data:'));
