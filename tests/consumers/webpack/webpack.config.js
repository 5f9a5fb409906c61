// Production build into the directory given as --env out=… (a temp dir):
// a plain webpack 5 config, nothing wasmquant-specific.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export default (env) => ({
  mode: 'production',
  context: here,
  entry: './main.js',
  output: { path: env.out, filename: 'main.js', clean: true },
  performance: { hints: false },
});
