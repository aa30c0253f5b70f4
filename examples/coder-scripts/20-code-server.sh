#!/usr/bin/env bash
# As the registry's code-server module: wait for the clone, install, start, and complete
# only if the sync start went through (SYNC_STARTED), with a guard for a missing `coder`.
set -euo pipefail
SYNC_STARTED=0
finish() {
  if [ "$SYNC_STARTED" = 1 ]; then coder exp sync complete code-server; fi
}
if command -v coder >/dev/null 2>&1; then
  trap finish EXIT
  coder exp sync want code-server git-clone
  coder exp sync start code-server && SYNC_STARTED=1
fi

dest="${PROJECT_DIR:-$HOME/project}"
log="${LOG_DIR:-/tmp}/code-server.log"
{
  test -d "$dest/.git" || { echo "no project at $dest: the clone has not run"; exit 1; }
  if command -v code-server >/dev/null 2>&1; then
    code-server --auth none --port 13337 "$dest" >/dev/null 2>&1 &
    echo "code-server started on port 13337"
  else
    echo "code-server is not installed; skipping"
  fi
} 2>&1 | tee "$log"
