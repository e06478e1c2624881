#!/usr/bin/env bash
# Counts the reference-count operations (swift_retain, swift_release) and mallocs per publish of
# the two nodes of the publish-ratio scenario (docs/performance.md): counts, which move less than
# CPU time (a few per cent from run to run, with how many publishes share an event-loop tick;
# run it two or three times to compare builds). Uses uprobes (`perf probe`, root), which slow every call,
# so the run is slower than the bench's and its batches are smaller: compare counts from this
# script with each other, not with the bench's figures.
#
#   scripts/arc-count.sh                       with .build/release/switchboard (built if missing)
#   scripts/arc-count.sh path/to/switchboard   another build (e.g. a worktree of an older commit)
#
# Each count is (count of a run of 2N publishes - count of a run of N) / N: what connecting,
# subscribing and starting cost cancels out.
set -euo pipefail
cd "$(dirname "$0")/.."

bin="${1:-.build/release/switchboard}"
[[ -x "$bin" ]] || { swift build -c release --product switchboard && swift build -c release --product switchboard-bench; }
command -v perf >/dev/null || { echo "arc-count.sh: needs perf (Debian linux-perf)" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || { echo "arc-count.sh: uprobes need root" >&2; exit 1; }

swift_core="$(ldd "$bin" | awk '/libswiftCore.so/ {print $3}')"
libc="$(ldd "$bin" | awk '/libc.so.6/ {print $3}')"
events=(probe_libswiftCore:swift_retain probe_libswiftCore:swift_release probe_libc:malloc)
added=()
probe() {
    local library="$1" function="$2" event="$3"
    perf probe -l 2>/dev/null | grep -q "$event" && return 0
    perf probe -q -x "$library" "$function" && added+=("$event")
}
cleanup() { for event in "${added[@]}"; do perf probe -q -d "$event" || true; done; }
trap cleanup EXIT
probe "$swift_core" swift_retain probe_libswiftCore:swift_retain
probe "$swift_core" swift_release probe_libswiftCore:swift_release
probe "$libc" malloc probe_libc:malloc

# One bench run of $1 publishes with perf counting the events in its two nodes. Prints the three
# counts.
count() {
    local messages="$1" pids="" stats
    stats="$(mktemp)"
    "$bin" bench --spawn 2 --redis auto "--node-arguments=--threads 1" --subscribers 2 --publishers 4 \
        --messages "$messages" --window 64 >/dev/null 2>&1 &
    local bench=$!
    # The nodes are the bench's children running `serve`.
    for _ in $(seq 200); do
        pids="$(pgrep -P "$bench" -f ' serve' | paste -sd, || true)"
        [[ "$(tr ',' '\n' <<<"$pids" | grep -c .)" -ge 2 ]] && break
        sleep 0.05
    done
    [[ -n "$pids" ]] || { echo "arc-count.sh: the bench started no nodes" >&2; kill "$bench" 2>/dev/null; exit 1; }
    # perf stat ends when the nodes do (the bench stops them when it is done).
    perf stat -x, -e "$(IFS=,; echo "${events[*]}")" -p "$pids" -o "$stats" &
    local stat=$!
    wait "$bench" || { echo "arc-count.sh: the bench failed" >&2; exit 1; }
    wait "$stat" || true
    for event in "${events[@]}"; do awk -F, -v e="$event" '$3 == e {print $1}' "$stats"; done | paste -sd' '
    rm -f "$stats"
}

n=20000
read -r retain1 release1 malloc1 <<<"$(count "$n")"
read -r retain2 release2 malloc2 <<<"$(count $((2 * n)))"
python3 - "$n" "$retain1" "$release1" "$malloc1" "$retain2" "$release2" "$malloc2" <<'PY'
import sys
n = int(sys.argv[1])
a = list(map(int, sys.argv[2:5]))
b = list(map(int, sys.argv[5:8]))
names = ["swift_retain", "swift_release", "malloc"]
print(f"per publish (2 nodes, 2 subscribers, 4 publishers; {n} and {2 * n} publishes):")
for name, x, y in zip(names, a, b):
    print(f"  {name:14} {(y - x) / n:8.1f}")
PY
