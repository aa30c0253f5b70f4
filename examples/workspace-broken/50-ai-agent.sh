#!/usr/bin/env bash
# Broken on purpose: a typo in a unit name, the commonest way to hang a start-up.
set -euo pipefail
source "$(dirname "$0")/_env.sh"
unitsync want ai-agent gti-clone install-deps database   # the typo: gti-clone
unitsync start ai-agent
echo "agent sees $(ls "$work/repo" | tr "\n" " ")and the database on port $(cat "$work/database.port")"
curl -fsS "http://127.0.0.1:$(cat "$work/database.port")/" >/dev/null 2>&1 || true
unitsync complete ai-agent
