#!/usr/bin/env bash
# Installs the project's dependencies once the clone is there.
set -euo pipefail
dest="${PROJECT_DIR:-$HOME/project}"
unitsync run install-deps --after git-clone -- bash -c '
  cd "$1"
  if [ -f package-lock.json ]; then npm ci; elif [ -f package.json ]; then npm install; else echo "no package.json: nothing to install"; fi
' _ "$dest"
