# Sourced by the build scripts: Debian's emscripten 3.1.6 needs Node's global
# modules on NODE_PATH (else "Cannot find module 'acorn'").
if ! command -v emcc >/dev/null; then
  echo "emcc not found: run scripts/setup.sh (it installs Debian's emscripten)" >&2
  exit 1
fi
export NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}
