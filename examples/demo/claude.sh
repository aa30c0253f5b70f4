#!/usr/bin/env bash
# Launches the AI agent only when the code and its dependencies are in place.
set -euo pipefail
unitsync want claude git-clone install-deps
unitsync start claude
echo "running claude on a ready workspace"
unitsync complete claude
