#!/usr/bin/env bash
# As coder-utils runs claude-code: an install step and a start step, each a sync unit, the
# start after the install and after the editor, each completed from its own EXIT trap.
set -euo pipefail
dest="${PROJECT_DIR:-$HOME/project}"
log="${LOG_DIR:-/tmp}/claude-code.log"

install() (
  trap 'coder exp sync complete claude-code.install' EXIT
  coder exp sync want claude-code.install git-clone
  coder exp sync start claude-code.install
  if command -v claude >/dev/null 2>&1; then echo "claude is installed"; else echo "claude is not installed; skipping the install"; fi
)

start() (
  trap 'coder exp sync complete claude-code.start' EXIT
  coder exp sync want claude-code.start claude-code.install code-server
  coder exp sync start claude-code.start
  cd "$dest" && echo "claude-code would start in $PWD"
)

if ! command -v coder >/dev/null 2>&1; then
  echo "coder is not on PATH: running without ordering"
fi
{ install && start; } 2>&1 | tee "$log"
