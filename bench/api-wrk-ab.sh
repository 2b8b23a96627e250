#!/bin/sh
# bench/api-wrk.sh in a baseline checkout and in this one, alternately (base, this, this, base, base, this), so a
# machine whose load drifts favours neither; one line per run, then the medians and their ratio.
#   bench/api-wrk-ab.sh BASELINE_DIR [threads] [connections] [duration]
#   e.g. git worktree add --detach ../ratchet-base main && bench/api-wrk-ab.sh ../ratchet-base
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
base=$(cd "$1" && pwd)
shift
results=$(mktemp)
for build in base this this base base this; do
  dir=$here
  [ "$build" = base ] && dir=$base
  load=$(cut -d' ' -f1 /proc/loadavg)
  out=$(cd "$dir" && bench/api-wrk.sh "$@" 2>/dev/null)
  rps=$(echo "$out" | sed -n 's/^Requests\/sec: *//p')
  p99=$(echo "$out" | awk '$1 == "99%" { print $2 }')
  non2xx=$(echo "$out" | sed -n 's/.*Non-2xx or 3xx responses: *//p')
  echo "$build $rps" >>"$results"
  echo "$(date -u +%H:%M:%S) $build: $rps req/s, p99 $p99, non-2xx ${non2xx:-0}, load $load; $(echo "$out" | tail -1)"
done
median() { grep "^$1 " "$results" | cut -d' ' -f2 | sort -n | sed -n 2p; }
echo "median req/s: base $(median base), this $(median this), ratio $(echo "$(median this) $(median base)" | awk '{ printf "%.1f", $1 / $2 }')x"
rm -f "$results"
