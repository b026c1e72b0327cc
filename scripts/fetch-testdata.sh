#!/usr/bin/env bash
# Public-domain test photos that Debian packages ship, for the face tests: a second person
# (astronaut.png: NASA portrait of Eileen Collins, public domain) from python3-skimage. That
# package would pull in 46 others (scipy, matplotlib...), so we fetch only its .deb with
# apt-get download and extract the one file, verified by sha256, into tests/data/ (gitignored).
# Grace Hopper comes from the facedetect package (installed by setup.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dest=$(dirname "$here")/tests/data
ASTRONAUT_SHA=88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5
f="$dest/astronaut.png"
[ -f "$f" ] && [ "$(sha256sum "$f" | cut -d' ' -f1)" = "$ASTRONAUT_SHA" ] && exit 0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/beian-testdata.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download python3-skimage >/dev/null 2>&1) || {
  echo "fetch-testdata: could not download python3-skimage (the two-people face test will skip)" >&2
  exit 0
}
dpkg-deb --fsys-tarfile "$tmp"/python3-skimage_*.deb | tar -x -C "$tmp" ./usr/lib/python3/dist-packages/skimage/data/astronaut.png
got=$(sha256sum "$tmp/usr/lib/python3/dist-packages/skimage/data/astronaut.png" | cut -d' ' -f1)
if [ "$got" != "$ASTRONAUT_SHA" ]; then
  echo "fetch-testdata: astronaut.png sha256 $got, expected $ASTRONAUT_SHA: refused" >&2
  exit 1
fi
mkdir -p "$dest"
install -m 0644 "$tmp/usr/lib/python3/dist-packages/skimage/data/astronaut.png" "$f"
echo "fetch-testdata: installed $f" >&2
