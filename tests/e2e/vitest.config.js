// The demo in real headless Chromium (Debian's /usr/bin/chromium driven by
// playwright-core): `npm run test:e2e`. Kept apart from the main Vitest
// config, which only runs tests/js.
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
