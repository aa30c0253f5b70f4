#!/usr/bin/env bash
# Clones the repository: nothing to wait for.
set -euo pipefail
unitsync start git-clone
sleep 0.4 # stands in for `git clone`
echo "cloned the repository"
unitsync complete git-clone
