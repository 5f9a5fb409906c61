#!/usr/bin/env bash
# npm run lint: eslint, prettier --check, then publint and attw on the packed
# tarball (as npm would publish it; dist/ must be built). Fails on any finding.
set -uo pipefail
cd "$(dirname "$0")/.."
failed=()

step() {
  local name=$1
  shift
  echo "--- ${name}"
  "$@" || failed+=("$name")
}

# The folders eslint and prettier look at (package.json's format scripts name the same).
DIRS=(web demo bench bin examples tests)

step eslint npx eslint --max-warnings 0 "${DIRS[@]}" eslint.config.js vitest.config.js
step prettier npx prettier --check --log-level warn "${DIRS[@]}"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in dist/wasmquant-simd128.mjs dist/wasmquant-simd128.wasm dist/wasmquant-scalar.mjs dist/wasmquant-scalar.wasm; do
  [ -f "$f" ] || { echo "lint: $f is missing; run npm run build first" >&2; exit 1; }
done
if npm pack --ignore-scripts --silent --pack-destination "$tmp" >/dev/null; then
  tgz=("$tmp"/*.tgz)
  step publint npx publint --strict "${tgz[0]}"
  # esm-only: the package is ESM only ("type": "module", no require condition), so
  # node10 and node16-from-CJS resolution are not goals. The two .wasm subpaths are
  # binary assets for import.meta.resolve / bundlers' asset URLs, not modules with types.
  step attw npx attw --profile esm-only --exclude-entrypoints ./wasm/simd128.wasm ./wasm/scalar.wasm \
    --format ascii --no-emoji "${tgz[0]}"
else
  failed+=("npm pack")
fi

if [ ${#failed[@]} -gt 0 ]; then
  echo "lint: failed: ${failed[*]}" >&2
  exit 1
fi
echo "lint: all clean"
