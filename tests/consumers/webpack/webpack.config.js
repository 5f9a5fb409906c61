// Production build into the directory given as --env out=… (a temp dir).
// The one addition a wasmquant user needs: web/loader.js has an
// `import('node:fs/promises')` for Node (only reached for file: URLs), which
// webpack cannot read for the web target (UnhandledSchemeError), so it is
// ignored here.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import webpack from 'webpack';

const here = dirname(fileURLToPath(import.meta.url));

export default (env) => ({
  mode: 'production',
  context: here,
  entry: './main.js',
  output: { path: env.out, filename: 'main.js', clean: true },
  plugins: [new webpack.IgnorePlugin({ resourceRegExp: /^node:fs\/promises$/ })],
  performance: { hints: false },
});
