#!/usr/bin/env bash
# RPC round trips through the node's RPC proxy (docs/proxy.md), against a node-local method, on
# one node with one event-loop thread. The backend is HAProxy answering every POST with a fixed
# {"result": …} (C, keep-alive), so that the figures are the node's, not a Python backend's.
# Needs a release build and haproxy:
#   swift build -c release --product switchboard && swift build -c release --product switchboard-bench
#   scripts/bench-proxy.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
bin="${SWITCHBOARD_BIN:-.build/release/switchboard}"
[[ -x "$bin" ]] || { echo "no release build at $bin (see the comment at the top)" >&2; exit 1; }
command -v haproxy >/dev/null || { echo "haproxy is needed (apt-get install haproxy)" >&2; exit 1; }
work="$(mktemp -d)"
port="$(free_port)"
cat > "$work/haproxy.cfg" <<CFG
global
    maxconn 4000
defaults
    mode http
    timeout client 30s
    timeout server 30s
    timeout connect 5s
frontend backend
    bind 127.0.0.1:$port
    http-request return status 200 content-type application/json string "{\"result\":{\"ok\":true}}"
CFG
haproxy -f "$work/haproxy.cfg" -db > "$work/haproxy.log" 2>&1 &
backend=$!
trap 'stop_pid "$backend"; rm -rf "$work"' EXIT
bench=("$bin" bench --spawn 1 --subscribers 0 --publishers 4 --messages "${MESSAGES:-100000}" --window "${WINDOW:-64}"
       "--node-arguments=--threads 1 --proxy-rpc http://127.0.0.1:$port/rpc")
for method in session app.call; do
    echo "=== $method ($([[ $method == session ]] && echo "the node's own method" || echo "forwarded to the backend"))"
    timeout 300 "${bench[@]}" --method "$method" 2>&1 | grep -E "published/s|latency ms|server CPU|errors:|error replies"
done
