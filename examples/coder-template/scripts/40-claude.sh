#!/usr/bin/env bash
# The AI agent starts last: it needs the code and its dependencies.
set -euo pipefail
dest="${PROJECT_DIR:-$HOME/project}"
unitsync run claude --after git-clone --after install-deps -- bash -c '
  cd "$1"
  if command -v claude >/dev/null; then claude --version; else echo "claude is not installed; skipping"; fi
' _ "$dest"
