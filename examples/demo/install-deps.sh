#!/usr/bin/env bash
# Installs dependencies once the clone is there.
set -euo pipefail
unitsync want install-deps git-clone
unitsync start install-deps
sleep 0.3 # stands in for `npm ci`
echo "installed dependencies"
unitsync complete install-deps
