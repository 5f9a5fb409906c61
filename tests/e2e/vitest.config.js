// The demo in real headless Chromium and Firefox ESR (Debian's, driven by
// playwright-core and puppeteer-core: driver.js): `npm run test:e2e`. Kept
// apart from the main Vitest config, which only runs tests/js.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    environment: 'node',
    include: ['tests/e2e/**/*.test.js'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
