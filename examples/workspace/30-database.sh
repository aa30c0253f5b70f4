#!/usr/bin/env bash
# Starts a small HTTP service and completes its unit once it answers, not when it forks.
set -euo pipefail
source "$(dirname "$0")/_env.sh"
unitsync start database
port=$((20000 + RANDOM % 20000))
echo "$port" >"$work/database.port"
node -e '
  const http = require("http");
  setTimeout(() => http.createServer((_, res) => res.end("ok\n")).listen(Number(process.argv[1]), "127.0.0.1"), 250);
' "$port" >"$work/database.log" 2>&1 &
unitsync complete database --when "http://127.0.0.1:$port/" --timeout 20s
echo "database answers on port $port"
