#!/usr/bin/env bash
# A private PostgreSQL cluster for the tests (docs/TESTING.md):
#   scripts/pg-cluster.sh start DIR    create the cluster in DIR if needed, start it, print its URL
#   scripts/pg-cluster.sh stop DIR     fast shutdown; nothing to do when it is not running
#   scripts/pg-cluster.sh restart DIR  immediate shutdown (a crash: recovery replays the WAL), start
#   scripts/pg-cluster.sh url DIR      postgres://USER@127.0.0.1:PORT/beian
# It listens on a free 127.0.0.1 port and on a unix socket in DIR, trusts every local connection
# (test use only), and keeps fsync and synchronous_commit on: the store's tests check durability.
# PostgreSQL refuses to run as root, and CI runs as root: then the server runs as the `postgres`
# user the Debian package creates (BEIAN_PG_USER to choose another) and DIR is handed to it.
# Binaries: $PG_BIN, else the newest /usr/lib/postgresql/*/bin (Debian), else $PATH.
set -euo pipefail

die() { echo "pg-cluster: $*" >&2; exit 1; }
# A developer's PGHOST, PGUSER, PGDATA, PGPORT… must not steer the test cluster or its clients.
while read -r v; do unset "$v"; done < <(compgen -e | grep '^PG[A-Z]' || true)
[ $# -eq 2 ] || die "usage: $0 start|stop|restart|url DIR"
cmd=$1
[ "$cmd" != stop ] || [ -d "$2" ] || exit 0
dir=$(cd "$2" 2>/dev/null && pwd -P) || die "$2: no such directory"
data=$dir/data

if [ -z "${PG_BIN:-}" ]; then
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$PG_BIN" ] || PG_BIN=$(dirname "$(command -v pg_ctl 2>/dev/null || echo /nonexistent/pg_ctl)")
fi
[ -x "$PG_BIN/pg_ctl" ] && [ -x "$PG_BIN/initdb" ] ||
  die "PostgreSQL server binaries not found (set PG_BIN, or install Debian's postgresql: scripts/setup.sh)"

# as_owner CMD...: run CMD as the cluster's owner (ourselves, or the unprivileged user when root).
if [ "$(id -u)" -eq 0 ]; then
  owner=${BEIAN_PG_USER:-postgres}
  id -u "$owner" >/dev/null 2>&1 || die "running as root and there is no user '$owner' to run PostgreSQL as"
  # setpriv, not runuser or su: no PAM session, nothing else about the process changes.
  uid=$(id -u "$owner") gid=$(id -g "$owner")
  as_owner() { setpriv --reuid="$uid" --regid="$gid" --init-groups -- "$@"; }
else
  owner=$(id -un)
  as_owner() { "$@"; }
fi

pg_ctl() { as_owner "$PG_BIN/pg_ctl" -D "$data" "$@"; }
# Whether a postmaster serves $data: the process postmaster.pid names runs in $data (the server
# works there). Not pg_ctl status, which trusts any live process with that pid: a cluster left by
# a killed test run or a rebooted container names a pid that now belongs to something else, and
# the server would refuse to start ("lock file already exists").
running() {
  local pid
  pid=$(head -n 1 "$data/postmaster.pid" 2>/dev/null) && [ -n "$pid" ] &&
    [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$data" ]
}
port() { cat "$dir/port" 2>/dev/null || die "$dir holds no cluster (no $dir/port)"; }
url() { echo "postgres://$owner@127.0.0.1:$(port)/beian"; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The port lives in its own included file so a start that lost the race for it can take another.
set_port() {
  echo "$1" >"$dir/port"
  echo "port = $1" | as_owner tee "$data/beian-port.conf" >/dev/null
}

create() {
  [ "$(id -u)" -ne 0 ] || chown "$owner:" "$dir"
  chmod 0700 "$dir"
  as_owner test -w "$dir" -a -x "$dir" ||
    die "$owner cannot write $dir (a parent directory closed to it? use a TMPDIR it can reach)"
  as_owner "$PG_BIN/initdb" -D "$data" --auth=trust -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  # Sized for a 2-core test machine. fsync, full_page_writes and synchronous_commit are the
  # defaults; they are spelled out because a faster test server would make durability tests lie.
  as_owner tee -a "$data/postgresql.conf" >/dev/null <<EOF

# scripts/pg-cluster.sh
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 100
shared_buffers = 128MB
fsync = on
full_page_writes = on
synchronous_commit = on
wal_level = replica
logging_collector = off
include 'beian-port.conf'
EOF
}

# Start on the recorded port; a fresh cluster may take another port when the one it picked was
# taken meanwhile (an existing one keeps its URL, or fails).
start() {
  local tries=$1 fresh=$2 seen
  if [ -e "$data/postmaster.pid" ]; then
    echo "pg-cluster: removing the stale lock files of a server that is gone" >&2
    rm -f "$data/postmaster.pid" "$dir"/.s.PGSQL.*.lock
  fi
  for ((i = 0; i < tries; i++)); do
    seen=0
    [ ! -f "$dir/server.log" ] || seen=$(wc -l <"$dir/server.log")
    if pg_ctl -l "$dir/server.log" -w -t 60 start >/dev/null 2>&1; then
      return 0
    fi
    # (grep without -q reads to the end: tail is not killed by SIGPIPE, which pipefail would see)
    tail -n "+$((seen + 1))" "$dir/server.log" | grep "could not bind\|could not create any TCP/IP" >/dev/null &&
      [ "$fresh" = 1 ] || break
    set_port "$(free_port)"
  done
  tail -n 20 "$dir/server.log" >&2 || true
  die "the server in $data did not start"
}

case $cmd in
start)
  fresh=0
  if [ ! -f "$data/PG_VERSION" ]; then
    create
    set_port "$(free_port)"
    fresh=1
  fi
  running || start 5 "$fresh"
  sql() { as_owner "$PG_BIN/psql" -X -q -h "$dir" -p "$(port)" -U "$owner" -d postgres -tAc "$1"; }
  [ "$(sql "SELECT 1 FROM pg_database WHERE datname = 'beian'")" = 1 ] || sql "CREATE DATABASE beian" >/dev/null
  url
  ;;
stop)
  if running; then
    pg_ctl -w -t 60 -m fast stop >/dev/null || pg_ctl -w -t 60 -m immediate stop >/dev/null
  fi
  ;;
restart)
  [ -f "$data/PG_VERSION" ] || die "$dir holds no cluster"
  if running; then
    pg_ctl -w -t 60 -m immediate stop >/dev/null
  fi
  start 1 0
  url
  ;;
url)
  url
  ;;
*)
  die "usage: $0 start|stop|restart|url DIR"
  ;;
esac
