// ESLint flat config: @eslint/js's recommended rules, with each folder's
// globals (the library runs in browsers, workers and Node; the demo's and the
// bench's pages in browsers; the CLI, the scripts and the tests in Node), and
// eslint-config-prettier last so no rule fights prettier's formatting.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';

export default [
  {
    ignores: ['dist/', 'build/', 'node_modules/', 'test-results/', 'examples/out/', 'scratch/', 'web/models/onnx/onnx_pb.js'],
  },
  js.configs.recommended,
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { ecmaVersion: 'latest', sourceType: 'module' },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // `const { dropped, ...rest } = obj` is how the code leaves a key out of a copy.
      'no-unused-vars': ['error', { ignoreRestSiblings: true }],
    },
  },
  // The library and the benchmark's shared suite: browsers, workers and Node alike.
  {
    files: ['web/**/*.js', 'bench/suite.js'],
    // FileList: a browser class, used only behind a typeof check (web/models/files.js).
    languageOptions: { globals: { ...globals['shared-node-browser'], FileList: 'readonly' } },
  },
  {
    files: ['web/worker.js'],
    languageOptions: { globals: { ...globals.worker } },
  },
  // Pages.
  {
    files: ['demo/**/*.js', 'bench/page.js', 'bench/models-page.js'],
    languageOptions: { globals: { ...globals.browser } },
  },
  // Node: the CLI, the demo's server, the bench runners, the examples, the tests, the configs.
  {
    files: ['bin/**/*.js', 'demo/serve.js', 'bench/**/*.js', 'examples/**/*.js', 'tests/**/*.js', 'scripts/**/*.js', '*.js'],
    ignores: ['bench/page.js', 'bench/models-page.js', 'bench/suite.js'],
    languageOptions: { globals: { ...globals.node } },
  },
  // Node scripts that hand functions to Playwright's page.evaluate (those run in a browser),
  // and the consumer fixtures' pages.
  {
    files: ['bench/demo.js', 'bench/models.js', 'tests/e2e/**/*.js', 'tests/consumers/**/*.js'],
    languageOptions: { globals: { ...globals.browser } },
  },
  prettier,
];
