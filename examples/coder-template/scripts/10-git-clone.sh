#!/usr/bin/env bash
# Clones the project into ~/project; everything else waits for it.
set -euo pipefail
trap 'unitsync complete git-clone --exit-code $?' EXIT
unitsync start git-clone
dest="${PROJECT_DIR:-$HOME/project}"
if [ -d "$dest/.git" ]; then
  echo "already cloned: $dest"
else
  git clone --depth 1 "${REPO_URL:?set REPO_URL to the repository to clone}" "$dest"
fi
