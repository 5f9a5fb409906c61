// The page operations the e2e suites use, one interface over two engines:
// Chromium through playwright-core (driver-chromium.js) and Firefox ESR
// through puppeteer-core over WebDriver BiDi (driver-firefox.js). Whatever
// can be read or done inside the page is done here, once, so that both
// engines are judged by the same code; real input (clicks, typing, the file
// picker), the viewport and screenshots go through each engine's driver.

// Puppeteer's BiDi mode reports no downloads. So the page itself keeps the
// Blob behind every <a download> click (demo/dom.js saveBytes) and cancels the
// click, in both engines: one path, and no file left in a profile's folder.
function captureDownloads() {
  const blobs = new Map();
  const createObjectURL = URL.createObjectURL;
  URL.createObjectURL = (object) => {
    const url = createObjectURL.call(URL, object);
    if (object instanceof Blob) blobs.set(url, object);
    return url;
  };
  globalThis.__e2eDownloads = [];
  window.addEventListener(
    'click',
    (e) => {
      const a = e.target instanceof Element ? e.target.closest('a[download]') : null;
      if (!a || !blobs.has(a.href)) return;
      e.preventDefault();
      globalThis.__e2eDownloads.push({ name: a.download, blob: blobs.get(a.href) });
    },
    true,
  );
}

// One element's state, read in the page. A missing element is an error, not
// an empty answer, except for the questions that are about presence.
function readElement([selector, what, arg]) {
  if (what === 'count') return document.querySelectorAll(selector).length;
  const el = document.querySelector(selector);
  // Playwright's definition of visible: a non-empty box, and not visibility: hidden.
  const visible = () => {
    const box = el.getBoundingClientRect();
    return box.width > 0 && box.height > 0 && getComputedStyle(el).visibility !== 'hidden';
  };
  if (what === 'visible') return el !== null && visible();
  if (el === null) throw new Error(`no element matches ${selector}`);
  if (what === 'text') return el.textContent;
  if (what === 'value') return el.value;
  if (what === 'attribute') return el.getAttribute(arg);
  if (what === 'disabled') return el.disabled;
  if (what === 'checked') return el.checked;
  if (what === 'dispatch') return void el.dispatchEvent(new Event(arg, { bubbles: true, cancelable: true }));
  throw new Error(`readElement: ${what}?`);
}

// The form controls a label names, as Playwright's getByLabel(label, {
// exact: true }) finds them: by a <label> (for= or wrapping), aria-label or
// aria-labelledby, compared after trimming and collapsing white space.
function countLabelled(label) {
  const text = (s) => (s ?? '').replace(/\s+/g, ' ').trim();
  const names = (el) => [
    ...[...(el.labels ?? [])].map((l) => text(l.textContent)),
    text(el.getAttribute('aria-label')),
    text(
      (el.getAttribute('aria-labelledby') ?? '')
        .split(/\s+/)
        .map((id) => document.getElementById(id)?.textContent ?? '')
        .join(' '),
    ),
  ];
  return [...document.querySelectorAll('*')].filter((el) => names(el).includes(label)).length;
}

/** The engine-neutral part of a page; the subclasses add input, viewport and screenshots. */
export class Page {
  constructor(native) {
    this.native = native;
  }

  /** Run before any page script, in every document the page loads. */
  async prepare() {
    await this.addInitScript(captureDownloads);
  }

  async goto(url) {
    await this.native.goto(url);
  }

  async reload() {
    await this.native.reload();
  }

  url() {
    return this.native.url();
  }

  /** `fn` (or an expression string) in the page with one serialisable argument. */
  evaluate(fn, arg) {
    return this.native.evaluate(fn, arg);
  }

  $$eval(selector, fn) {
    return this.native.$$eval(selector, fn);
  }

  focus(selector) {
    return this.native.focus(selector);
  }

  press(key) {
    return this.native.keyboard.press(key);
  }

  sleep(ms) {
    return new Promise((ok) => setTimeout(ok, ms));
  }

  textContent(selector) {
    return this.evaluate(readElement, [selector, 'text']);
  }

  inputValue(selector) {
    return this.evaluate(readElement, [selector, 'value']);
  }

  getAttribute(selector, name) {
    return this.evaluate(readElement, [selector, 'attribute', name]);
  }

  count(selector) {
    return this.evaluate(readElement, [selector, 'count']);
  }

  isVisible(selector) {
    return this.evaluate(readElement, [selector, 'visible']);
  }

  async isHidden(selector) {
    return !(await this.isVisible(selector));
  }

  isDisabled(selector) {
    return this.evaluate(readElement, [selector, 'disabled']);
  }

  /** How many form controls have this label (exactly). */
  countByLabel(label) {
    return this.evaluate(countLabelled, label);
  }

  dispatchEvent(selector, type) {
    return this.evaluate(readElement, [selector, 'dispatch', type]);
  }

  /** Ticks a checkbox or radio button by clicking it, unless it is ticked already. */
  async check(selector) {
    if (!(await this.evaluate(readElement, [selector, 'checked']))) await this.click(selector);
  }

  /** Clicks `selector` and → { name: Uint8Array } of the `count` downloads it starts. */
  async downloads(selector, count = 1, timeout = 60_000) {
    await this.evaluate(() => {
      globalThis.__e2eDownloads.length = 0;
    });
    await this.click(selector);
    await this.waitForFunction((n) => globalThis.__e2eDownloads.length >= n, count, { timeout });
    const files = await this.evaluate(() =>
      Promise.all(
        globalThis.__e2eDownloads.map(
          ({ name, blob }) =>
            new Promise((ok, fail) => {
              const reader = new FileReader();
              reader.onload = () => ok([name, reader.result.slice(reader.result.indexOf(',') + 1)]);
              reader.onerror = () => fail(reader.error);
              reader.readAsDataURL(blob);
            }),
        ),
      ),
    );
    return Object.fromEntries(files.map(([name, base64]) => [name, new Uint8Array(Buffer.from(base64, 'base64'))]));
  }

  // The whole page with the window made as tall as the page (up to
  // maxHeight): the sticky controls column is as tall as the window, and a
  // full-page capture of a short window would cut it off.
  async shot(path, { clip, maxHeight = Infinity } = {}) {
    const size = this.viewport();
    const height = await this.evaluate(() => document.documentElement.scrollHeight);
    await this.setViewport({ width: size.width, height: Math.min(maxHeight, Math.max(size.height, height)) });
    await this.evaluate(
      () =>
        new Promise((ok) => {
          window.scrollTo(0, 0);
          requestAnimationFrame(() => requestAnimationFrame(ok));
        }),
    );
    await this.screenshot(clip ? { path, clip } : { path });
    await this.setViewport(size);
  }
}
