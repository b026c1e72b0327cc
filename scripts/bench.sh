#!/usr/bin/env bash
# `make bench`: every benchmark, each reporting against its own baseline measured in the same run.
set -uo pipefail
build=${1:-build}
for b in "$build"/bench_*; do
  [ -x "$b" ] || continue
  echo "== $(basename "$b")"
  "$b" || echo "   (exited $?)"
  echo
done
