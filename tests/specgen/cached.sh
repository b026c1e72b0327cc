#!/usr/bin/env bash
# Generate the specimen set into OUT unless OUT already holds the set this generator, its
# layouts and these arguments make (the generator is deterministic). Lets the plain and the
# sanitizer test runs share one set instead of spending minutes making it twice.
set -euo pipefail
out=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$(dirname "$here")")
stamp=$(cat "$here"/*.py "$top/data/layouts.json" <(printf '%s\n' "$@") | sha256sum | cut -c1-64)
if [ -f "$out/.stamp" ] && [ "$(cat "$out/.stamp")" = "$stamp" ]; then
  echo "specimens in $out are current"
  exit 0
fi
rm -f "$out/.stamp"
/usr/bin/python3 "$here/specgen.py" --out "$out" "$@"
echo "$stamp" > "$out/.stamp"
