#!/usr/bin/env bash
# Runs the shared black-box conformance suite (../shared/conformance) against nodes this script
# starts on free loopback ports and stops by PID: one node on the in-process broker.
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

echo "== conformance: one node, in-process broker"
read -r pid port < <(start_node "$work/local.log")
pids+=("$pid")
timeout 600 "$suite/run.sh" "ws://127.0.0.1:$port/stream" -q
stop_pid "$pid"
