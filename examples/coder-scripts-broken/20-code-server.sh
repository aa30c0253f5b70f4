#!/usr/bin/env bash
# Runs once git-clone has ended, whatever its exit status.
set -euo pipefail
trap 'coder exp sync complete code-server' EXIT
coder exp sync want code-server git-clone
coder exp sync start code-server
echo "code-server is not installed; skipping" | tee "${LOG_DIR:-/tmp}/code-server.log"
