// The package as bundler users consume it (Vite dev + build/preview, esbuild,
// webpack 5), in Debian's Chromium (playwright-core) and Firefox ESR
// (puppeteer-core over WebDriver BiDi). Kept apart from the main Vitest config,
// which only runs tests/js.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    environment: 'node',
    include: ['tests/consumers/**/*.test.js'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 90_000,
    hookTimeout: 180_000,
  },
});
