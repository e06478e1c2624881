#!/usr/bin/env bash
# Runs the shared black-box conformance suite (../shared/conformance) against nodes this script
# starts on free loopback ports and stops by PID: first one node on the in-process broker, then
# two nodes sharing one redis-server (the cross-node cases), then two nodes on a 3-primary Redis
# Cluster; then the shared acceptance smoke
# checks (../shared/acceptance), which drive the nodes with the other libraries' own clients.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

suite="${CONFORMANCE_DIR:-$SWITCHBOARD_ROOT/../shared/conformance}"
[[ -x "$suite/run.sh" ]] || { echo "no conformance suite at $suite" >&2; exit 1; }
[[ -x "$(switchboard_bin)" ]] || swift build --product switchboard

work="$(mktemp -d)"
pids=()
cleanup() { stop_pid "${pids[@]}"; rm -rf "$work"; }
trap cleanup EXIT

# start_pair NAME REDIS-URL [serve options...]: two nodes on that Redis, both ready; their PIDs
# join `pids` (stopped at exit) and `pair_pids`, their ports are `pair_ports`.
start_pair() {
    local name="$1" url="$2" side pid port
    shift 2
    pair_pids=()
    pair_ports=()
    for side in a b; do
        read -r pid port < <(start_node "$work/$name-$side.log" --redis "$url" "$@")
        pids+=("$pid")
        pair_pids+=("$pid")
        pair_ports+=("$port")
    done
    wait_ready "${pair_ports[0]}"
    wait_ready "${pair_ports[1]}"
}

echo "== conformance: one node, in-process broker"
read -r pid port < <(start_node "$work/local.log")
pids+=("$pid")
timeout 600 "$suite/run.sh" "ws://127.0.0.1:$port/stream" -q
stop_pid "$pid"

echo "== conformance: two nodes on one Redis"
read -r redis_pid redis_port < <(start_redis "$work")
pids+=("$redis_pid")
# --auth off: the wsrpc checks call POST /call without an API key, which a node takes only when
# authentication is off (docs/security.md).
start_pair redis "redis://127.0.0.1:$redis_port" --topics news --auth off
a_port="${pair_ports[0]}"
b_port="${pair_ports[1]}"
timeout 600 "$suite/run.sh" "ws://127.0.0.1:$a_port/stream" "ws://127.0.0.1:$b_port/stream" -q

echo "== conformance: two nodes on a Redis Cluster (3 primaries, 3 replicas, sharded pub/sub)"
read -r -a cluster_ports < <(free_ports 6)
mkdir -p "$work/cluster"
read -r -a cluster_pids < <(start_redis_cluster "$work/cluster" "${cluster_ports[@]}")
pids+=("${cluster_pids[@]}")
cluster_url="redis+cluster://$(printf '127.0.0.1:%s,' "${cluster_ports[@]}")"
cluster_url="${cluster_url%,}"
start_pair cluster "$cluster_url" --topics news --auth off
timeout 600 "$suite/run.sh" "ws://127.0.0.1:${pair_ports[0]}/stream" "ws://127.0.0.1:${pair_ports[1]}/stream" -q
stop_pid "${pair_pids[@]}"

acceptance="${ACCEPTANCE_DIR:-$SWITCHBOARD_ROOT/../shared/acceptance}"
if [[ -x "$acceptance/run.sh" ]]; then
    echo "== acceptance: jsonrpc (aiohttp-json-rpc's client), two nodes on one Redis"
    timeout 300 "$acceptance/run.sh" jsonrpc "ws://127.0.0.1:$a_port" "ws://127.0.0.1:$b_port"
    echo "== acceptance: wsrpc (wsrpc-aiohttp's client), two nodes on one Redis"
    timeout 300 "$acceptance/run.sh" wsrpc "ws://127.0.0.1:$a_port" "http://127.0.0.1:$a_port" "ws://127.0.0.1:$b_port"
    echo "== acceptance: auth, one node with --auth required"
    secret="conformance-secret-$RANDOM$RANDOM"
    read -r auth_pid auth_port < <(start_node "$work/auth.log" --auth required --jwt-secret "$secret" --api-key conformance-key)
    pids+=("$auth_pid")
    timeout 300 "$acceptance/run.sh" auth "ws://127.0.0.1:$auth_port" "$secret" conformance-key
    echo "== acceptance: history, two nodes on one Redis with hist:* keeping history"
    echo '{"channels": [{"match": "hist:*", "history_size": 10000, "history_ttl_s": 600}]}' >"$work/history.json"
    start_pair history "redis://127.0.0.1:$redis_port" --config "$work/history.json"
    timeout 300 "$acceptance/run.sh" history "ws://127.0.0.1:${pair_ports[0]}/stream" "ws://127.0.0.1:${pair_ports[1]}/stream"
    echo "== acceptance: history, two nodes on the Redis Cluster"
    start_pair history-cluster "$cluster_url" --config "$work/history.json"
    timeout 300 "$acceptance/run.sh" history "ws://127.0.0.1:${pair_ports[0]}/stream" "ws://127.0.0.1:${pair_ports[1]}/stream"
else
    echo "no acceptance checks at $acceptance: skipped"
fi

