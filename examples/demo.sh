#!/usr/bin/env bash
# Shows unitsync at work: a server and three start-up scripts racing in parallel,
# each waiting on the server for exactly what it needs. Run by `npm run demo`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin="$here/../dist/unitsync"
work=$(mktemp -d)
export UNITSYNC_SOCKET_PATH="$work/unitsync.sock"
export PATH="$(dirname "$bin"):$PATH"

"$bin" serve 2>"$work/server.log" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
until "$bin" ping >/dev/null 2>&1; do :; done
"$bin" ping

echo
echo "== three scripts start at once; each line is prefixed by its script =="
start=$(date +%s%N)
pids=()
for script in claude install-deps git-clone; do
  bash "$here/demo/$script.sh" 2>&1 | sed -u "s/^/[$script] /" &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
echo "all done in $(( ($(date +%s%N) - start) / 1000000 )) ms (the scripts sleep 700 ms in a chain)"

echo
echo "== unitsync list =="
"$bin" list
echo
echo "== unitsync status claude =="
"$bin" status claude
echo
echo "== unitsync events: the server's event log =="
"$bin" events
echo
echo "== unitsync timeline: who waited, who ran, and the critical path =="
"$bin" timeline
"$bin" timeline -o svg >"$here/../dist/timeline.svg"
"$bin" graph >"$here/../dist/graph.dot"
echo
echo "wrote dist/timeline.svg (open it in a browser) and dist/graph.dot (dot -Tsvg dist/graph.dot)"
