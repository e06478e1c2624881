#!/usr/bin/env bash
# The same bench scenarios on one Redis and on a 3-primary Redis Cluster (3 replicas), side by
# side: two nodes with one event-loop thread each, spawned by the bench (docs/performance.md,
# "One Redis and a Redis Cluster"). Needs a release build:
#   swift build -c release --product switchboard && swift build -c release --product switchboard-bench
#   scripts/bench-redis-cluster.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
bin="${SWITCHBOARD_BIN:-.build/release/switchboard}"
[[ -x "$bin" ]] || { echo "no release build at $bin (see the comment at the top)" >&2; exit 1; }
work="$(mktemp -d)"
read -r -a ports < <(free_ports 6)
read -r -a pids < <(start_redis_cluster "$work" "${ports[@]}")
trap 'stop_pid "${pids[@]}"; rm -rf "$work"' EXIT
url="redis+cluster://$(printf '127.0.0.1:%s,' "${ports[@]}")"
url="${url%,}"
bench=("$bin" bench --spawn 2 "--node-arguments=--threads 1")

scenario() {
    local name="$1"; shift
    local redis
    for redis in auto "$url"; do
        echo "=== $name, on ${redis%%:*} (auto: one redis-server)"
        timeout 300 "${bench[@]}" --redis "$redis" "$@" 2>&1 | grep -E "published/s|deliveries/s|latency ms|completeness|server CPU"
    done
}
scenario "publish, 1 channel" --subscribers 2 --publishers 4 --messages 200000 --window 256
scenario "publish, 100 channels" --subscribers 200 --channels 100 --publishers 4 --messages 100000 --window 256
scenario "fan-out to 100" --subscribers 100 --channels 1 --publishers 2 --messages 40000 --window 64
scenario "fan-out, 1000 subscribers on 100 channels" --subscribers 1000 --channels 100 --publishers 4 --messages 40000 --window 64
