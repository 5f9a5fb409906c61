#!/usr/bin/env bash
# Regenerates web/models/onnx/onnx_pb.js from the official onnx.proto beside it
# (needs Debian's protobuf-compiler and the devDependency @bufbuild/protoc-gen-es).
set -euo pipefail
cd "$(dirname "$0")/../web/models/onnx"
protoc --plugin=protoc-gen-es="$(cd ../../.. && pwd)/node_modules/.bin/protoc-gen-es" \
  --es_out=. --es_opt=target=js,import_extension=js onnx.proto
