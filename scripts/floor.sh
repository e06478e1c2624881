#!/usr/bin/env bash
# The floor under the quiet rows of docs/performance.md: what a server costs per wake-up and per
# send on this machine with none of Switchboard's code, in C and with SwiftNIO (the node's event
# loop library). Each program runs alone on its port and prints its CPU per message:
#
#   echo (1,000 msg/s, one socket): a wake-up, one read, one write back; the node's quiet-hours
#        unit of work (1,000 publishes/s to 2 subscribers costs about 3 such wake-ups per publish);
#   fan  (100 sockets, 50 rounds/s): one 40-byte write to each socket per round; a node's delivery
#        to a socket that gets one message per tick (50 msg/s to 200 subscribers).
#
# Paced messages fall at random points of their slots, so the kernel's tick-based user/system
# split is not locked in phase with them; the run time is exact (schedstat).
#
#   scripts/floor.sh                   each program once, on an otherwise idle machine
#   scripts/floor.sh --repeat 3        each three times
#   scripts/floor.sh --load            while the quiet row runs (switchboard bench, 2 nodes, Redis):
#                                      the floor in the same company as the nodes measured there
#   SWITCHBOARD_BIN=path/to/switchboard (release build) for --load
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$SWITCHBOARD_ROOT"

repeat=1
load=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --repeat) repeat="$2"; shift 2 ;;
        --load) load=1; shift ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "floor.sh: unknown option $1 (see --help)" >&2; exit 64 ;;
    esac
done

work="$(mktemp -d)"
pids=()
cleanup() {
    stop_pid "${pids[@]}"
    rm -rf "$work"
}
trap cleanup EXIT

for program in echo-server echo-client fan-server fan-sink; do
    cc -O2 -Wall -o "$work/$program" "scripts/floor/$program.c"
done
swift build -c release --package-path Benchmarks --product nio-echo-server >"$work/build.log" 2>&1 \
    && swift build -c release --package-path Benchmarks --product nio-fan-server >>"$work/build.log" 2>&1 \
    || { cat "$work/build.log" >&2; exit 1; }
nio="$(swift build -c release --package-path Benchmarks --show-bin-path)"

if [[ $load == 1 ]]; then
    bin="${SWITCHBOARD_BIN:-.build/release/switchboard}"
    [[ -x "$bin" ]] || { echo "floor.sh: --load needs a release build ($bin; swift build -c release)" >&2; exit 1; }
    # The quiet row of scripts/perf-report.sh, long enough to cover every run here.
    "$bin" bench --spawn 2 --redis auto "--node-arguments=--threads 1" --subscribers 2 --channels 1 \
        --publishers 1 --messages 1000000 --rate 1000 --window 64 >"$work/bench.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 300); do
        [[ $(pgrep -f "switchboard serve .*--node-id bench-" | wc -l) -ge 2 ]] && break
        sleep 0.1
    done
    sleep 2
    echo "(under load: switchboard bench, 1,000 publishes/s to 2 subscribers on two nodes)"
fi

# echo SERVER...: starts the server on a free port, paces 10,000 messages at 1,000/s through it.
echo_run() {
    local port server
    port="$(free_port)"
    "$@" "$port" &
    server=$!
    "$work/echo-client" "$port" 10000 1000 "$server" | sed "s/^echo server/$label/"
    stop_pid "$server"
}

# fan SERVER...: 100 sockets, 500 rounds at 50/s.
fan_run() {
    local port server sink
    port="$(free_port)"
    "$@" "$port" 100 500 50 | sed "s/^.*fan server/$label/" &
    server=$!
    "$work/fan-sink" "$port" 100 &
    sink=$!
    wait "$server"
    wait "$sink" || true
}

for _ in $(seq 1 "$repeat"); do
    label="C echo, per message" echo_run "$work/echo-server"
    label="NIO echo, per message" echo_run "$nio/nio-echo-server"
    label="C fan, per write" fan_run "$work/fan-server"
    label="NIO fan, per write" fan_run "$nio/nio-fan-server"
done
