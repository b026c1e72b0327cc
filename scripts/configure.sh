#!/usr/bin/env bash
# Configure a build tree: scripts/configure.sh BUILD_DIR [cmake -D options...] (what `make`
# runs). A build tree copied with its checkout (cp -a, rsync, a container layer) holds a
# CMakeCache.txt naming the old source directory, and cmake refuses it ("does not match the
# source ... used to generate cache"): such a cache is removed and the tree configured afresh.
# Configuring an up-to-date tree again changes nothing, so the next build has nothing to do.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd -P)
build=$1
shift
cache=$build/CMakeCache.txt
if [ -f "$cache" ]; then
  home=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$cache")
  if [ "$home" != "$top" ]; then
    echo "beian configure: $build was configured for $home, not $top: configuring afresh" >&2
    rm -rf "$cache" "$build/CMakeFiles"
  fi
fi
exec cmake -S "$top" -B "$build" "$@" >/dev/null
