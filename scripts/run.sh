#!/usr/bin/env bash
# `make run`: start beiand (embedded SQLite store under VAR), one worker of each kind and the HTTP
# gateway on 127.0.0.1:8480 (BEIAN_GATEWAY_LISTEN; docs/GATEWAY.md) in the foreground. Ctrl-C stops
# them all.
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
listen=${BEIAN_GATEWAY_LISTEN:-127.0.0.1:8480}
tokens="$var/gateway.tokens"
token=""
# A first token for tenant "default", printed once: only its hash is kept.
[ -s "$tokens" ] || token=$("$bin/beian-gateway" --tokens "$tokens" --add-token --tenant default --label "make run" 2>/dev/null)
"$bin/beian-gateway" --endpoint "$ep" --tokens "$tokens" --listen "$listen" &
pids+=($!)
cat >&2 <<MSG

beiand is serving $ep  (state in $var; finished jobs announced on ipc://$var/events.sock)
Submit an application from another terminal, for example:

  $bin/beian --endpoint $ep submit --doc id-card:front=front.jpg --doc id-card:back=back.jpg --wait

or over HTTP (docs/GATEWAY.md, docs/openapi.yaml) at http://$listen/v1/applications:

  curl -H "Authorization: Bearer \$TOKEN" -F id-card:front=@front.jpg -F id-card:back=@back.jpg \\
       http://$listen/v1/applications
${token:+
TOKEN=$token   (tenant default; shown only now, $tokens keeps its hash)}
More tokens: $bin/beian-gateway --tokens $tokens --add-token --tenant T

Press Ctrl-C to stop.
MSG
wait -n "${pids[@]}"
