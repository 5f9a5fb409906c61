#!/usr/bin/env bash
# Every suite: the C++ format check, the JS lint (scripts/lint.sh), native
# GoogleTest (Release, then ASan+UBSan), the same tests compiled to wasm under
# Node (SIMD128 against scalar), Vitest, the demo in headless Chromium and
# Firefox ESR, and the package built by Vite, esbuild and webpack in both.
# Assumes scripts/setup.sh has run (the README's test command does both).
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/emsdk-env.sh
jobs=$(nproc)
passed=0
failed=0
failures=()

suite() {
  local name=$1
  shift
  echo "=== ${name}"
  if "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failures+=("$name")
  fi
}

native() {
  local dir=$1
  shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null &&
    cmake --build "$dir" -j"$jobs" &&
    ctest --test-dir "$dir" --output-on-failure
}

wasm() {
  if [ ! -f build/wasm/CMakeCache.txt ]; then
    emcmake cmake -S . -B build/wasm -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_CROSSCOMPILING_EMULATOR="$(command -v node)" >/dev/null || return 1
  fi
  cmake --build build/wasm -j"$jobs" && ctest --test-dir build/wasm --output-on-failure
}

# .clang-format (Google style) holds for every C++ file of ours.
format_check() {
  git ls-files '*.cpp' '*.h' | xargs clang-format --dry-run --Werror
}

suite "clang-format" format_check
suite "Lint (eslint, prettier, publint, attw)" npm run lint
suite "native GoogleTest" native build/native
suite "native GoogleTest, ASan+UBSan" native build/asan -DWASMQUANT_SANITIZE=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo
suite "wasm GoogleTest under Node (SIMD128 vs scalar)" wasm
suite "Vitest (JS API, bad input, backends, memory, npm pack)" npx vitest run
suite "Demo e2e (Chromium, Firefox)" npx vitest run --config tests/e2e/vitest.config.js
suite "Consumers (Vite, esbuild, webpack; Firefox)" npx vitest run --config tests/consumers/vitest.config.js

echo
for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "suites: ${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
