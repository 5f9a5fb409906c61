#!/usr/bin/env bash
# Builds the npm package's two modules (dist/wasmquant-{simd128,scalar}.{mjs,wasm}).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/emsdk-env.sh
if [ ! -f build/wasm/CMakeCache.txt ]; then
  emcmake cmake -S . -B build/wasm -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CROSSCOMPILING_EMULATOR="$(command -v node)" >/dev/null
fi
cmake --build build/wasm -j"$(nproc)" --target wasmquant-simd128 wasmquant-scalar
