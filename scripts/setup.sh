#!/usr/bin/env bash
# Installs what building and testing need on a fresh Debian 12 machine with
# Node 20: the C++/wasm toolchains from Debian, the JS tools from npm.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for pkg in emscripten cmake g++ googletest libgtest-dev wabt chromium firefox-esr clang-format; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
bash scripts/build-wasm.sh
