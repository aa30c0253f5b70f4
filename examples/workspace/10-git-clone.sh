#!/usr/bin/env bash
# Clones the project. A local bare repository stands in for the remote.
set -euo pipefail
source "$(dirname "$0")/_env.sh"
trap 'unitsync complete git-clone --exit-code $?' EXIT
unitsync start git-clone
rm -rf "$work/origin.git" "$work/repo"
git init -q --bare "$work/origin.git"
seed=$(mktemp -d)
git -C "$seed" init -q
printf '{ "name": "demo", "dependencies": {} }\n' >"$seed/package.json"
git -C "$seed" add package.json
git -C "$seed" -c user.name=demo -c user.email=demo@example.com commit -qm "first commit"
git -C "$seed" push -q "$work/origin.git" HEAD:main
rm -rf "$seed"
sleep 0.3 # a real clone takes a while
git clone -q --branch main "$work/origin.git" "$work/repo"
echo "cloned into $work/repo"
