#!/usr/bin/env bash
# `make run`: start beiand (embedded SQLite store under VAR) and one worker of each kind in the
# foreground. Ctrl-C stops them all.
set -euo pipefail
var=${1:-$PWD/var}
bin=${BEIAN_BIN:-$PWD/build}
mkdir -p "$var"
chmod 700 "$var"
ep="ipc://$var/beiand.sock"
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM
"$bin/beiand" --dir "$var" &
pids+=($!)
for _ in $(seq 50); do [ -S "$var/beiand.sock" ] && break; sleep 0.1; done
for w in quality ocr face; do
  "$bin/beian-$w" --connect "$ep" &
  pids+=($!)
done
cat >&2 <<MSG

beiand is serving $ep  (state in $var; finished jobs announced on ipc://$var/events.sock)
Submit an application from another terminal, for example:

  $bin/beian --endpoint $ep submit --doc id-card:front=front.jpg --doc id-card:back=back.jpg --wait

Press Ctrl-C to stop.
MSG
wait -n "${pids[@]}"
