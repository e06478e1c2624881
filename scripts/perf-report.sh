#!/usr/bin/env bash
# Runs the benchmark scenarios of docs/performance.md with a release build and writes their
# figures into that file (between the "results" markers), with the exact commands. Figures are
# never typed in: rerun this script to refresh them. Takes about ten minutes.
#
#   scripts/perf-report.sh            all scenarios
#   SWITCHBOARD_BIN=path/to/switchboard scripts/perf-report.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
ensure_packages --tests

bin="${SWITCHBOARD_BIN:-.build/release/switchboard}"
if [[ -z "${SWITCHBOARD_BIN:-}" ]]; then swift build -c release --product switchboard; fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
results="$out/results.jsonl"

# Every scenario: two nodes with one event-loop thread each (the machine has two cores, shared
# with Redis and the bench), on a redis-server the bench starts itself.
nodes=(--spawn 2 --redis auto "--node-arguments=--threads 1")

run() {
    local name="$1"; shift
    echo "== $name: switchboard bench $*" >&2
    local line
    line="$("$bin" bench "$@" 2>/dev/null | tail -n 1)"
    python3 - "$name" "$*" "$line" >>"$results" <<'PY'
import json, sys
name, command, line = sys.argv[1], sys.argv[2], sys.argv[3]
record = json.loads(line)
record["scenario"] = name
record["command"] = "switchboard bench " + command
print(json.dumps(record))
PY
}

run "publish-ratio" "${nodes[@]}" --redis-baseline --subscribers 2 --publishers 4 --messages 200000 --window 256
for s in 10 100 1000 10000; do
    m=$(( 4000000 / s )); (( m > 300000 )) && m=300000
    run "fanout-$s" "${nodes[@]}" --subscribers "$s" --channels 1 --publishers 2 --messages "$m" --window 64
done
run "many-channels" "${nodes[@]}" --subscribers 1000 --channels 100 --publishers 4 --messages 40000 --window 64
run "in-order-1000" "${nodes[@]}" --subscribers 1000 --channels 1 --publishers 1 --messages 1000 --window 16

max=$(python3 -c "import json; print(int([json.loads(l) for l in open('$results') if json.loads(l)['scenario']=='publish-ratio'][0]['published_per_s']))")
for fraction in 25 50 75; do
    rate=$(( max * fraction / 100 ))
    run "latency-$fraction%" "${nodes[@]}" --subscribers 2 --publishers 4 --messages $(( rate * 5 )) --rate "$rate" --window 1024
done

run "idle-10000" --spawn 1 "--node-arguments=--threads 1" --subscribers 10000 --channels 100 --publishers 1 --messages 100 --window 8
run "compression-off" "${nodes[@]}" --subscribers 100 --publishers 2 --messages 10000 --window 64 --payload-bytes 2048
run "compression-on" "${nodes[@]}" --subscribers 100 --publishers 2 --messages 10000 --window 64 --payload-bytes 2048 --compression
run "without-slow-consumers" "${nodes[@]}" --subscribers 100 --publishers 2 --messages 10000 --window 64 --payload-bytes 1024 --rate 2000
run "with-slow-consumers" "${nodes[@]}" --subscribers 100 --publishers 2 --messages 10000 --window 64 --payload-bytes 1024 --rate 2000 --slow-consumers 10

cp "$results" docs/performance-results.jsonl
python3 - "$results" docs/performance.md <<'PY'
import json, platform, subprocess, sys, datetime
results = [json.loads(line) for line in open(sys.argv[1])]
by = {r["scenario"]: r for r in results}

def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except Exception:
        return "?"

def fmt(v, digits=1):
    if v is None:
        return "n/a"
    if isinstance(v, float) and not v.is_integer():
        return f"{v:,.{digits}f}"
    return f"{int(v):,}"

cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
cores = sh("nproc")
memory = sh("free -g | awk '/Mem/ {print $2}'")
swift = sh("swift --version 2>&1 | head -1")
redis = sh("redis-server --version | cut -d' ' -f1-3")
lines = []
lines.append(f"Measured on {datetime.date.today().isoformat()}: {cores} cores ({cpu}), {memory} GiB, {swift}, "
             f"{redis}, release build. Redis, the nodes and the bench share the two cores.")
lines.append("")
r = by["publish-ratio"]
lines.append("### Publish throughput against redis-benchmark (same run)")
lines.append("")
lines.append("| through the nodes (publish RPCs) | redis-benchmark -P 16 PUBLISH | ratio | server CPU per publish | p50 / p99 ms |")
lines.append("|---|---|---|---|---|")
lines.append(f"| {fmt(r['published_per_s'])}/s | {fmt(r['redis_baseline_per_s'])}/s | {fmt(r['redis_ratio']*100 if r['redis_ratio'] is not None else None)}% | "
             f"{fmt(r['server_cpu_us_per_publish'])} µs | {fmt(r['p50_ms'],2)} / {fmt(r['p99_ms'],2)} |")
lines.append("")
lines.append("### Fan-out: one channel, S subscribers over two nodes; and many channels")
lines.append("")
lines.append("| scenario | messages | deliveries/s | server CPU per delivery | p50 ms | p99 ms | lost | dup | reordered | bench CPU |")
lines.append("|---|---|---|---|---|---|---|---|---|---|")
for name in ["fanout-10", "fanout-100", "fanout-1000", "fanout-10000", "many-channels", "in-order-1000"]:
    r = by[name]
    label = {"many-channels": "S=1000, 100 channels", "in-order-1000": "S=1000, one publisher (order check)"}.get(name, "S=" + name.split("-")[1])
    lines.append(f"| {label} | {fmt(r['messages'])} | {fmt(r['deliveries_per_s'])} | {fmt(r['server_cpu_us_per_delivery'],2)} µs | "
                 f"{fmt(r['p50_ms'],2)} | {fmt(r['p99_ms'],2)} | {r['lost']} | {r['duplicates']} | {r['reordered']} | {fmt(r['bench_cpu_percent'])}% |")
lines.append("")
lines.append("### Latency against offered publish rate (publish on one node, delivery on both)")
lines.append("")
lines.append("| offered rate | achieved | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |")
lines.append("|---|---|---|---|---|---|---|")
for fraction in ["25%", "50%", "75%"]:
    r = by["latency-" + fraction]
    lines.append(f"| {fmt(r['rate'])}/s ({fraction} of max) | {fmt(r['published_per_s'])}/s | {fmt(r['p50_ms'],2)} | {fmt(r['p90_ms'],2)} | "
                 f"{fmt(r['p99_ms'],2)} | {fmt(r['p999_ms'],2)} | {fmt(r['max_ms'],2)} |")
lines.append("")
lines.append("### Memory, compression, slow consumers")
lines.append("")
r = by["idle-10000"]
lines.append(f"- 10,000 idle sockets on one node: **{fmt(r['rss_kib_per_connection'])} KiB** resident memory per connection.")
off, on = by["compression-off"], by["compression-on"]
lines.append(f"- 2 KiB messages to 100 subscribers: {fmt(off['server_cpu_us_per_delivery'],2)} µs per delivery without compression, "
             f"{fmt(on['server_cpu_us_per_delivery'],2)} µs with per-message deflate ({fmt(on['compressed_deliveries'])} of "
             f"{fmt(on['delivered'])} deliveries compressed, one compressed frame per message and node); p99 {fmt(off['p99_ms'],2)} ms vs {fmt(on['p99_ms'],2)} ms.")
a, b = by["without-slow-consumers"], by["with-slow-consumers"]
lines.append(f"- 1 KiB messages at 2,000/s to 100 subscribers: p99 {fmt(a['p99_ms'],2)} ms without, {fmt(b['p99_ms'],2)} ms with 10 sockets that stop reading "
             f"({b['slow_consumer_closes'] if b['slow_consumer_closes'] is not None else 'n/a'} of them closed with 1008; the others lost {b['lost']}).")
lines.append("")
lines.append("Commands (each prints a table and one JSON line; `scripts/perf-report.sh` runs them all):")
lines.append("")
lines.append("```")
for r in results:
    lines.append(r["command"])
lines.append("```")

doc = open(sys.argv[2]).read()
start, end = "<!-- results:start -->", "<!-- results:end -->"
head, rest = doc.split(start, 1)
_, tail = rest.split(end, 1)
open(sys.argv[2], "w").write(head + start + "\n" + "\n".join(lines) + "\n" + end + tail)
print("docs/performance.md updated")
PY
