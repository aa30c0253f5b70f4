#!/usr/bin/env bash
# The clone fails (a repository that is not there), but the EXIT trap completes the unit
# anyway, as Coder's modules do: "completed" means "ended", so the editor still starts.
set -euo pipefail
if command -v coder >/dev/null 2>&1; then
  trap 'coder exp sync complete git-clone' EXIT
  coder exp sync start git-clone
fi
git clone --depth 1 "file://${PROJECT_DIR:-$HOME/project}/no-such-repository" "${PROJECT_DIR:-$HOME/project}/clone" 2>&1 | tee "${LOG_DIR:-/tmp}/git-clone.log"
