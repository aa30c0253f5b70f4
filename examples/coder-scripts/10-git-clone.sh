#!/usr/bin/env bash
# Written as a Coder registry module writes its coder_script: it signals completion from an
# EXIT trap (so it completes even when the clone fails) and logs through tee. Unchanged, it
# runs under a Coder agent, or locally under `unitsync up`, which puts a `coder` first on PATH.
set -euo pipefail
if command -v coder >/dev/null 2>&1; then
  trap 'coder exp sync complete git-clone' EXIT
  coder exp sync start git-clone
fi

dest="${PROJECT_DIR:-$HOME/project}"
log="${LOG_DIR:-/tmp}/git-clone.log"
{
  if [ -d "$dest/.git" ]; then
    echo "already cloned: $dest"
  elif [ -n "${REPO_URL:-}" ]; then
    git clone --depth 1 "$REPO_URL" "$dest"
  else
    # No repository given: an empty project, so the example runs offline.
    mkdir -p "$dest" && git -C "$dest" init -q && echo "initialised an empty project in $dest"
  fi
} 2>&1 | tee "$log"
