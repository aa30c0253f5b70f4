#!/usr/bin/env bash
# Installs dependencies once the repository is there.
set -euo pipefail
source "$(dirname "$0")/_env.sh"
unitsync run install-deps --after git-clone -- bash -c '
  cd "$1" && test -f package.json
  sleep 0.4 # npm ci
  mkdir -p node_modules && echo "installed dependencies of $(basename "$PWD")"
' _ "$work/repo"
