#!/usr/bin/env bash
# Runs the benchmark scenarios of docs/performance.md with a release build and writes their
# figures into that file (between the "results" markers), with the exact commands. Figures are
# never typed in: rerun this script to refresh them. All scenarios take about two minutes, six
# with --repeat 3.
#
#   scripts/perf-report.sh                          every scenario, once
#   scripts/perf-report.sh --only quiet-200,quiet-2 those scenarios (the others keep their figures)
#   scripts/perf-report.sh --repeat 5 --only publish-ratio
#                                                   each scenario 5 times: the median of every
#                                                   figure, and the spread (min–max) of the main ones
#   SWITCHBOARD_BIN=path/to/switchboard scripts/perf-report.sh
#
# Scenario names: publish-ratio fanout-10 fanout-100 fanout-1000 fanout-10000 many-channels
# channels-200 in-order-1000 latency-25% latency-50% latency-75% idle-10000 compression-off compression-on
# without-slow-consumers with-slow-consumers history-publish-ratio history-fanout-100 quiet-200
# quiet-2 bigroom-20.
set -euo pipefail
cd "$(dirname "$0")/.."

only=""
repeat=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --only) only="$2"; shift 2 ;;
        --repeat) repeat="$2"; shift 2 ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "perf-report.sh: unknown option $1 (see --help)" >&2; exit 64 ;;
    esac
done
[[ "$repeat" =~ ^[1-9][0-9]*$ ]] || { echo "perf-report.sh: --repeat takes a positive number" >&2; exit 64; }

source scripts/deps.sh
ensure_packages --tests

bin="${SWITCHBOARD_BIN:-.build/release/switchboard}"
if [[ -z "${SWITCHBOARD_BIN:-}" ]]; then swift build -c release --product switchboard && swift build -c release --product switchboard-bench; fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
raw="$out/raw.jsonl"
: >"$raw"

# Every scenario: two nodes with one event-loop thread each (the machine has two cores, shared
# with Redis and the bench), on a redis-server the bench starts itself.
nodes=(--spawn 2 --redis auto "--node-arguments=--threads 1")
# The same with history on every bench channel (the cost of history, per message).
history_config="$out/history.json"
echo '{"channels": [{"match": "bench-*", "history_size": 10000, "history_ttl_s": 600}]}' >"$history_config"
history_nodes=(--spawn 2 --redis auto "--node-arguments=--threads 1 --config $history_config")

wanted() { [[ -z "$only" || ",$only," == *",$1,"* ]]; }

run() {
    local name="$1"; shift
    wanted "$name" || return 0
    local i line
    for (( i = 1; i <= repeat; i++ )); do
        echo "== $name (run $i of $repeat): switchboard bench $*" >&2
        # A failed run says so, with the bench's last lines (its log is otherwise dropped).
        if ! line="$("$bin" bench "$@" 2>"$out/bench.err" | tail -n 1)"; then
            echo "perf-report.sh: the bench failed in $name (run $i); its last lines:" >&2
            tail -n 20 "$out/bench.err" >&2
            exit 1
        fi
        python3 - "$name" "$*" "$line" "$history_config" >>"$raw" <<'PY'
import json, sys
name, command, line, config = sys.argv[1:5]
record = json.loads(line)
record["scenario"] = name
record["command"] = "switchboard bench " + command.replace(config, "history.json")
record["date"] = __import__("datetime").date.today().isoformat()
print(json.dumps(record))
PY
    done
}

run "publish-ratio" "${nodes[@]}" --redis-baseline --subscribers 2 --publishers 4 --messages 200000 --window 256
for s in 10 100 1000 10000; do
    m=$(( 4000000 / s )); (( m > 300000 )) && m=300000
    run "fanout-$s" "${nodes[@]}" --subscribers "$s" --channels 1 --publishers 2 --messages "$m" --window 64
done
run "many-channels" "${nodes[@]}" --subscribers 1000 --channels 100 --publishers 4 --messages 40000 --window 64
run "channels-200" "${nodes[@]}" --subscribers 200 --channels 100 --publishers 4 --messages 100000 --window 64
run "in-order-1000" "${nodes[@]}" --subscribers 1000 --channels 1 --publishers 1 --messages 1000 --window 16

# The latency rows are paced at fractions of the publish row's maximum (this run's, or the last one's).
max=$(python3 - "$raw" docs/performance-results.jsonl <<'PY'
import json, sys
for path in sys.argv[1:]:
    try:
        rows = [json.loads(l) for l in open(path) if l.strip()]
    except FileNotFoundError:
        continue
    rows = [r for r in rows if r["scenario"] == "publish-ratio" and r.get("published_per_s")]
    if rows:
        values = sorted(r["published_per_s"] for r in rows)
        print(int(values[len(values) // 2]))
        break
else:
    print(60000)
PY
)
for fraction in 25 50 75; do
    rate=$(( max * fraction / 100 ))
    run "latency-$fraction%" "${nodes[@]}" --subscribers 2 --publishers 4 --messages $(( rate * 5 )) --rate "$rate" --window 1024
done

run "idle-10000" --spawn 1 "--node-arguments=--threads 1" --subscribers 10000 --channels 100 --publishers 1 --messages 100 --window 8
run "compression-off" "${nodes[@]}" --subscribers 100 --publishers 2 --messages 10000 --window 64 --payload-bytes 2048
run "compression-on" "${nodes[@]}" --subscribers 100 --publishers 2 --messages 10000 --window 64 --payload-bytes 2048 --compression
run "without-slow-consumers" "${nodes[@]}" --subscribers 100 --publishers 2 --messages 10000 --window 64 --payload-bytes 1024 --rate 2000
run "with-slow-consumers" "${nodes[@]}" --subscribers 100 --publishers 2 --messages 10000 --window 64 --payload-bytes 1024 --rate 2000 --slow-consumers 10

# History: the publish and fan-out rows again, with every bench channel keeping history.
run "history-publish-ratio" "${history_nodes[@]}" --redis-baseline --subscribers 2 --publishers 4 --messages 200000 --window 256
run "history-fanout-100" "${history_nodes[@]}" --subscribers 100 --channels 1 --publishers 2 --messages 40000 --window 64

# Quiet hours and a big room at a modest rate (10 s each).
run "quiet-200" "${nodes[@]}" --subscribers 200 --channels 1 --publishers 1 --messages 500 --rate 50 --window 16
run "quiet-2" "${nodes[@]}" --subscribers 2 --channels 1 --publishers 1 --messages 10000 --rate 1000 --window 64
run "bigroom-20" "${nodes[@]}" --subscribers 10000 --channels 1 --publishers 1 --messages 200 --rate 20 --window 8

[[ -s "$raw" ]] || { echo "perf-report.sh: no scenario matched --only $only" >&2; exit 64; }

# One record per scenario (the median of its runs, with the spread of the main figures), merged
# into the last results: scenarios not run this time keep theirs.
results="$out/results.jsonl"
python3 - "$raw" docs/performance-results.jsonl "$results" <<'PY'
import json, sys
raw_path, previous_path, out_path = sys.argv[1:4]
runs = {}
for line in open(raw_path):
    r = json.loads(line)
    runs.setdefault(r["scenario"], []).append(r)
main = ["published_per_s", "deliveries_per_s", "redis_ratio", "server_cpu_us_per_publish", "server_cpu_us_per_delivery",
        "server_user_us_per_delivery", "server_system_us_per_delivery", "p50_ms", "p99_ms"]
merged = {}
for name, rs in runs.items():
    record = dict(rs[-1])
    for key, value in rs[-1].items():
        values = sorted(r[key] for r in rs if isinstance(r.get(key), (int, float)) and not isinstance(r.get(key), bool))
        if values and len(values) == len(rs):
            mid = len(values) // 2
            record[key] = values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2
    record["runs"] = len(rs)
    if len(rs) > 1:
        record["spread"] = {k: [min(r[k] for r in rs), max(r[k] for r in rs)] for k in main if all(isinstance(r.get(k), (int, float)) for r in rs)}
    merged[name] = record
order = []
try:
    for line in open(previous_path):
        if line.strip():
            r = json.loads(line)
            order.append(r["scenario"])
            merged.setdefault(r["scenario"], r)
except FileNotFoundError:
    pass
order += [name for name in runs if name not in order]
with open(out_path, "w") as f:
    for name in order:
        f.write(json.dumps(merged[name]) + "\n")
PY

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
dates = sorted({r.get("date", datetime.date.today().isoformat()) for r in results})
when = dates[0] if len(dates) == 1 else f"{dates[0]} to {dates[-1]} (scenarios rerun alone with --only carry their own date in docs/performance-results.jsonl)"
lines.append(f"Measured on {when}: {cores} cores ({cpu}), {memory} GiB, {swift}, "
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
if "history-publish-ratio" in by and "history-fanout-100" in by:
    lines.append("### History: the cost per message")
    lines.append("")
    lines.append("Every bench channel with `history_size` 10,000 (`--config history.json`: `{\"channels\": [{\"match\": \"bench-*\", \"history_size\": 10000, \"history_ttl_s\": 600}]}`): "
                 "each publish is one Lua script (XADD with MAXLEN ~, the epoch, PUBLISH with the offset) instead of one PUBLISH, and each delivered message carries its offset and epoch.")
    lines.append("")
    lines.append("| scenario | without history | with history | cost of history |")
    lines.append("|---|---|---|---|")
    a, b = by["publish-ratio"], by["history-publish-ratio"]
    lines.append(f"| publish throughput (4 publishers, 2 subscribers) | {fmt(a['published_per_s'])}/s | {fmt(b['published_per_s'])}/s | {fmt((1 - b['published_per_s'] / a['published_per_s']) * 100)}% fewer |")
    lines.append(f"| server CPU per publish | {fmt(a['server_cpu_us_per_publish'])} µs | {fmt(b['server_cpu_us_per_publish'])} µs | {fmt(b['server_cpu_us_per_publish'] - a['server_cpu_us_per_publish'])} µs |")
    lines.append(f"| publish p50 / p99 ms | {fmt(a['p50_ms'],2)} / {fmt(a['p99_ms'],2)} | {fmt(b['p50_ms'],2)} / {fmt(b['p99_ms'],2)} | |")
    a, b = by["fanout-100"], by["history-fanout-100"]
    lines.append(f"| fan-out to 100: deliveries/s | {fmt(a['deliveries_per_s'])} | {fmt(b['deliveries_per_s'])} | |")
    lines.append(f"| fan-out to 100: server CPU per delivery | {fmt(a['server_cpu_us_per_delivery'],2)} µs | {fmt(b['server_cpu_us_per_delivery'],2)} µs | {fmt(b['server_cpu_us_per_delivery'] - a['server_cpu_us_per_delivery'],2)} µs |")
    lines.append(f"| fan-out to 100: p50 / p99 ms | {fmt(a['p50_ms'],2)} / {fmt(a['p99_ms'],2)} | {fmt(b['p50_ms'],2)} / {fmt(b['p99_ms'],2)} | |")
    lines.append(f"| lost / duplicated / reordered | {a['lost']} / {a['duplicates']} / {a['reordered']} | {b['lost']} / {b['duplicates']} / {b['reordered']} | |")
    lines.append("")
quiet = [n for n in ["quiet-200", "quiet-2", "bigroom-20"] if n in by]
if quiet:
    lines.append("### Quiet hours and a big room (paced publishing)")
    lines.append("")
    lines.append("| scenario | deliveries/s | server CPU per delivery | of which user / system | server CPU per publish | p50 ms | p99 ms | lost |")
    lines.append("|---|---|---|---|---|---|---|---|")
    labels = {"quiet-200": "50 msg/s to 200 subscribers", "quiet-2": "1,000 msg/s to 2 subscribers (one per node)", "bigroom-20": "20 msg/s to 10,000 subscribers"}
    for name in quiet:
        r = by[name]
        lines.append(f"| {labels[name]} | {fmt(r['deliveries_per_s'])} | {fmt(r['server_cpu_us_per_delivery'],2)} µs | "
                     f"{fmt(r.get('server_user_us_per_delivery'),2)} / {fmt(r.get('server_system_us_per_delivery'),2)} µs | {fmt(r['server_cpu_us_per_publish'])} µs | "
                     f"{fmt(r['p50_ms'],2)} | {fmt(r['p99_ms'],2)} | {r['lost']} |")
    lines.append("")
repeated = [r for r in results if r.get("runs", 1) > 1]
if repeated:
    lines.append("### Spread over repeated runs (`--repeat`)")
    lines.append("")
    lines.append("The figures above are the medians of these runs; here each figure's median and its range (min–max).")
    lines.append("")
    lines.append("| scenario | runs | figure | median | min – max |")
    lines.append("|---|---|---|---|---|")
    names = {"published_per_s": "published/s", "deliveries_per_s": "deliveries/s", "redis_ratio": "ratio to redis-benchmark",
             "server_cpu_us_per_publish": "server CPU µs/publish", "server_cpu_us_per_delivery": "server CPU µs/delivery",
             "server_user_us_per_delivery": "user µs/delivery", "server_system_us_per_delivery": "system µs/delivery", "p50_ms": "p50 ms", "p99_ms": "p99 ms"}
    for r in repeated:
        for key, (low, high) in r.get("spread", {}).items():
            lines.append(f"| {r['scenario']} | {r['runs']} | {names.get(key, key)} | {fmt(r.get(key), 2)} | {fmt(low, 2)} – {fmt(high, 2)} |")
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
