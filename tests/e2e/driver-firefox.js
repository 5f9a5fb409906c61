// Debian's Firefox ESR through puppeteer-core over WebDriver BiDi (Puppeteer
// makes and removes the profile): the engine-specific half of driver.js's
// Page. playwright-core's own BiDi Firefox cannot drive Firefox 153 (it asks
// for emulation.setMediaFeaturesOverride, which 153 does not know).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';
import { Page } from './driver.js';

/** How every test launches Debian's Firefox ESR (the e2e suites, the consumer fixtures). */
export const FIREFOX_LAUNCH = {
  browser: 'firefox',
  executablePath: process.env.FIREFOX ?? '/usr/bin/firefox-esr',
  headless: true,
  timeout: 60_000,
  protocolTimeout: 60_000,
  extraPrefsFirefox: { 'app.update.enabled': false, 'browser.shell.checkDefaultBrowser': false },
};

class FirefoxPage extends Page {
  constructor(native, tmp) {
    super(native);
    this.tmp = tmp;
    this.uploads = 0;
  }

  addInitScript(fn) {
    return this.native.evaluateOnNewDocument(fn);
  }

  waitForFunction(fn, arg, { timeout } = {}) {
    return this.native.waitForFunction(fn, { timeout }, arg);
  }

  /** Until an element matches and is visible. */
  waitForSelector(selector) {
    return this.native.waitForSelector(selector, { visible: true });
  }

  // Locators wait for the element to be visible, enabled and still, as Playwright does.
  click(selector) {
    return this.native.locator(selector).click();
  }

  // Types the text (after clearing the field), so the page sees key presses and input events.
  fill(selector, value) {
    return this.native.locator(selector).fill(value);
  }

  async selectOption(selector, value) {
    await this.native.select(selector, value);
  }

  /** `files`: a path, or [{ name, bytes }] (written to disk first: uploadFile takes paths, one folder per call so names can repeat). */
  async setInputFiles(selector, files) {
    let paths = [files];
    if (typeof files !== 'string') {
      const dir = join(this.tmp, `upload-${(this.uploads += 1)}`);
      mkdirSync(dir);
      paths = files.map(({ name, bytes }) => {
        writeFileSync(join(dir, name), bytes);
        return join(dir, name);
      });
    }
    const input = await this.native.waitForSelector(selector);
    await input.uploadFile(...paths);
    await input.dispose();
  }

  // Firefox 153 takes no media-feature override over WebDriver BiDi
  // (Puppeteer: "CDP support is required").
  get emulatesMedia() {
    return false;
  }

  viewport() {
    return this.native.viewport();
  }

  setViewport(size) {
    return this.native.setViewport(size);
  }

  screenshot(options) {
    return this.native.screenshot(options);
  }
}

/** → { page, close() }; every request and page error is pushed onto the arrays given. */
export async function launchFirefox({ viewport, tmp, requests, pageErrors }) {
  const browser = await puppeteer.launch(FIREFOX_LAUNCH);
  // The window Firefox opens with never has the focus over BiDi
  // (document.hasFocus() stays false, so no :focus style and no click from
  // a key press on a button); a page opened by the driver has it.
  const [first] = await browser.pages();
  const native = await browser.newPage();
  await first?.close();
  await native.setViewport(viewport);
  native.setDefaultTimeout(30_000);
  native.on('request', (r) => requests.push(r.url()));
  native.on('pageerror', (e) => pageErrors.push(e.message));
  native.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
  return { page: new FirefoxPage(native, tmp), close: () => browser.close() };
}
