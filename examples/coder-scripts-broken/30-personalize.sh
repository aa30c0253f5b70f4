#!/usr/bin/env bash
# Waits for dotfiles, a unit no script here provides (its module was left out of the
# template): under the agent it would hang until `start` times out after 5 minutes.
set -euo pipefail
trap 'coder exp sync complete personalize' EXIT
coder exp sync want personalize dotfiles code-server
coder exp sync start personalize
echo "personalized" | tee "${LOG_DIR:-/tmp}/personalize.log"
