#!/usr/bin/env bash
# Install what beian needs on Debian 12: the packages in scripts/debian-packages.txt and the
# model files (scripts/fetch-models.sh). Idempotent and quick when everything is present.
# As root it runs apt-get; otherwise it prints the exact command to run and fails.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")

mapfile -t pkgs < <(grep -v '^\s*#' "$here/debian-packages.txt" | grep -v '^\s*$')
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The model fetch needs npm. A machine may already have Node.js and npm from elsewhere (then
# Debian's npm package would conflict with it): install Debian's only when there is none.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "beian setup: missing Debian packages. Run as root:" >&2
    echo "  sudo sh -c '$cmd'" >&2
    exit 1
  fi
  echo "beian setup: installing ${#missing[@]} Debian packages: ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  # Installing `postgresql` creates Debian's default cluster (15/main on port 5432) and, where
  # systemd runs, starts it. The tests never use it (each starts its own: scripts/pg-cluster.sh),
  # so a server we caused is stopped and not started at boot; undo with
  # `manual` -> `auto` in /etc/postgresql/15/main/start.conf. One that was there before is left alone.
  if [[ " ${missing[*]} " == *" postgresql "* ]] && command -v pg_lsclusters >/dev/null; then
    pg_lsclusters --no-header 2>/dev/null | while read -r ver name _ status _; do
      [ "$name" = main ] || continue
      echo "beian setup: PostgreSQL's default cluster $ver/$name is not needed: stopped, start=manual" >&2
      [[ $status != online* ]] || pg_ctlcluster "$ver" "$name" stop || true
      sed -i "s/^auto$/manual/" "/etc/postgresql/$ver/$name/start.conf"
    done
  fi
fi

"$here/fetch-models.sh"
"$here/fetch-testdata.sh"
