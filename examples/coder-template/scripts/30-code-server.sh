#!/usr/bin/env bash
# Starts the editor once the sources are there, and completes when it answers.
set -euo pipefail
dest="${PROJECT_DIR:-$HOME/project}"
unitsync want code-server git-clone
unitsync start code-server
if ! command -v code-server >/dev/null; then
  echo "code-server is not installed; skipping"
  unitsync complete code-server
  exit 0
fi
code-server --auth none --port 13337 "$dest" >/tmp/code-server.log 2>&1 &
unitsync complete code-server --when http://127.0.0.1:13337/healthz --timeout 2m
