#!/usr/bin/env bash
# Smoke run of the demo as a user starts it: `stampgate up` on its default ports, wait for /readyz,
# one request to each stamp through the gateway, stop it, and check that no stamp process is left.
set -euo pipefail
cd "$(dirname "$0")/.."
data=$(mktemp -d)
log="$data/up.log"
node bin/stampgate.js up --data-dir "$data/state" >"$log" 2>&1 &
up=$!
cleanup() { kill -KILL "$up" 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT
fail() { echo "smoke-demo: $*"; echo "--- stampgate up output:"; cat "$log"; exit 1; }

for _ in $(seq 1 150); do
  curl -sf http://127.0.0.1:3000/readyz >/dev/null 2>&1 && break
  kill -0 "$up" 2>/dev/null || fail "stampgate up exited early"
  sleep 0.2
done
curl -sf http://127.0.0.1:3000/readyz >/dev/null || fail "/readyz never answered 200"
for stamp in default s1 s2; do
  got=$(curl -s -o /dev/null -w '%{http_code} %header{x-stamp-id}' "http://127.0.0.1:3000/libros?stamp=$stamp")
  [ "$got" = "200 $stamp" ] || fail "GET /libros?stamp=$stamp answered '$got', expected '200 $stamp'"
done
curl -sf http://127.0.0.1:3004/stampsz | grep -q '"total_requests":3' || fail "/stampsz does not count 3 requests"

pids=$(grep -oE 'running \(pid [0-9]+\)' "$log" | grep -oE '[0-9]+' || true)
kill -TERM "$up"
wait "$up" || fail "stampgate up did not exit 0 on SIGTERM"
for pid in $pids; do
  if kill -0 "$pid" 2>/dev/null; then fail "stamp process $pid is still running after stop"; fi
done
echo "smoke-demo: ok (3 stamps answered through the gateway; no process left)"
