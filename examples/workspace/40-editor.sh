#!/usr/bin/env bash
# Sets up the editor; it needs the sources but not the dependencies.
set -euo pipefail
source "$(dirname "$0")/_env.sh"
unitsync run editor --after git-clone -- bash -c 'sleep 0.2; echo "editor settings written"'
