// Debian's Chromium through playwright-core, with a throwaway profile: the
// engine-specific half of driver.js's Page.
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { Page } from './driver.js';

/** How every test launches Debian's Chromium (the e2e suites, the consumer fixtures). */
export const CHROMIUM_LAUNCH = {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
};

class ChromiumPage extends Page {
  addInitScript(fn) {
    return this.native.context().addInitScript(fn);
  }

  waitForFunction(fn, arg, { timeout } = {}) {
    return this.native.waitForFunction(fn, arg, { timeout });
  }

  /** Until an element matches and is visible. */
  waitForSelector(selector) {
    return this.native.waitForSelector(selector, { state: 'visible' });
  }

  click(selector) {
    return this.native.click(selector);
  }

  fill(selector, value) {
    return this.native.fill(selector, value);
  }

  async selectOption(selector, value) {
    await this.native.selectOption(selector, value);
  }

  /** `files`: a path, or [{ name, bytes }]. */
  setInputFiles(selector, files) {
    return this.native.setInputFiles(
      selector,
      typeof files === 'string'
        ? files
        : files.map(({ name, bytes }) => ({
            name,
            mimeType: 'application/octet-stream',
            buffer: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
          })),
    );
  }

  get emulatesMedia() {
    return true;
  }

  emulateMedia(features) {
    return this.native.emulateMedia(features);
  }

  viewport() {
    return this.native.viewportSize();
  }

  setViewport(size) {
    return this.native.setViewportSize(size);
  }

  screenshot(options) {
    return this.native.screenshot(options);
  }
}

/** → { page, close() }; every request and page error is pushed onto the arrays given. */
export async function launchChromium({ viewport, tmp, requests, pageErrors }) {
  const context = await chromium.launchPersistentContext(join(tmp, 'profile'), { ...CHROMIUM_LAUNCH, viewport });
  const native = context.pages()[0] ?? (await context.newPage());
  native.setDefaultTimeout(30_000);
  context.on('request', (r) => requests.push(r.url()));
  native.on('pageerror', (e) => pageErrors.push(e.message));
  native.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
  return { page: new ChromiumPage(native), close: () => context.close() };
}
