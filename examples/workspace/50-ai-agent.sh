#!/usr/bin/env bash
# The AI agent starts last: it needs the code, its dependencies and the database.
set -euo pipefail
source "$(dirname "$0")/_env.sh"
unitsync want ai-agent git-clone install-deps database
unitsync start ai-agent
echo "agent sees $(ls "$work/repo" | tr "\n" " ")and the database on port $(cat "$work/database.port")"
curl -fsS "http://127.0.0.1:$(cat "$work/database.port")/" >/dev/null 2>&1 || true
unitsync complete ai-agent
