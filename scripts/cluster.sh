#!/usr/bin/env bash
# The compose topology without Docker, on loopback: redis-server, three nodes and HAProxy.
# With SWITCHBOARD_REDIS_CLUSTER=1: a Redis Cluster instead of one Redis (six redis-servers on
# SWITCHBOARD_REDIS_PORT and the five ports after it: 3 primaries, 3 replicas, sharded pub/sub).
#
#   scripts/cluster.sh up       start everything, wait until every node is ready, print the URLs
#   scripts/cluster.sh status   what runs, and whether each node is ready
#   scripts/cluster.sh down     stop exactly what `up` started (by PID)
#
# Ports: SWITCHBOARD_LB_PORT (8080), SWITCHBOARD_NODE_PORTS ("8081 8082 8083"),
# SWITCHBOARD_REDIS_PORT (6380). State (PIDs, logs, haproxy.cfg): SWITCHBOARD_CLUSTER_DIR
# (.cluster/ in the repository). The node binary: SWITCHBOARD_BIN (default: a debug build,
# built when missing). On SIGTERM a node fails /readyz for SWITCHBOARD_DRAIN_PERIOD seconds (2)
# so that HAProxy stops routing to it, then closes its sockets with 1001. Needs redis-server and
# haproxy (Debian packages).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

lb_port="${SWITCHBOARD_LB_PORT:-8080}"
read -r -a node_ports <<<"${SWITCHBOARD_NODE_PORTS:-8081 8082 8083}"
redis_port="${SWITCHBOARD_REDIS_PORT:-6380}"
redis_cluster="${SWITCHBOARD_REDIS_CLUSTER:-0}"
state="${SWITCHBOARD_CLUSTER_DIR:-$SWITCHBOARD_ROOT/.cluster}"

# `up` records the ports it used, so that `status` and `down` need no environment.
if [[ -f "$state/ports" ]]; then
    # shellcheck disable=SC1091
    source "$state/ports"
fi

pid_alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# port_taken PORT: something already listens on 127.0.0.1:PORT. A port whose last connections
# linger in TIME_WAIT is free for Redis, the nodes and HAProxy (they all listen with SO_REUSEADDR),
# so the check binds with it too.
port_taken() {
    python3 -c 'import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
    s.listen()
except OSError:
    sys.exit(0)
sys.exit(1)' "$1"
}

# fail MESSAGE: says what went wrong, stops what `up` started so far, exits 1.
fail() {
    echo "cluster not up: $*" >&2
    down >/dev/null
    exit 1
}

need() {
    command -v "$1" >/dev/null && return 0
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
    else
        echo "$1 is missing: sudo apt-get install -y $2" >&2
        exit 1
    fi
}

up() {
    need redis-server redis-server
    need haproxy haproxy
    need curl curl
    mkdir -p "$state"
    if compgen -G "$state/redis*.pid" >/dev/null; then echo "the cluster is already up (scripts/cluster.sh down first)" >&2; exit 1; fi
    # Every port must be free: a Redis or a node already there would be used (or shut down) by mistake.
    local port taken=()
    for port in "$redis_port" "${node_ports[@]}" "$lb_port"; do
        if port_taken "$port"; then taken+=("$port"); fi
    done
    if [[ ${#taken[@]} -gt 0 ]]; then
        echo "cluster not up: port ${taken[*]} already in use (another Redis or node?); pick others with SWITCHBOARD_REDIS_PORT, SWITCHBOARD_NODE_PORTS, SWITCHBOARD_LB_PORT" >&2
        exit 1
    fi
    local redis_ports=("$redis_port")
    if [[ "$redis_cluster" == 1 ]]; then
        redis_ports=()
        for port in $(seq "$redis_port" $((redis_port + 5))); do
            if port_taken "$port"; then fail "port $port already in use (the Redis Cluster takes SWITCHBOARD_REDIS_PORT and the five after it)"; fi
            redis_ports+=("$port")
        done
    fi
    printf 'lb_port=%q\nnode_ports=(%s)\nredis_port=%q\nredis_cluster=%q\n' "$lb_port" "${node_ports[*]}" "$redis_port" "$redis_cluster" >"$state/ports"
    [[ -x "$(switchboard_bin)" ]] || swift build --product switchboard

    local redis_url="redis://127.0.0.1:$redis_port"
    if [[ "$redis_cluster" == 1 ]]; then
        start_redis_cluster "$state" "${redis_ports[@]}" >/dev/null || fail "the Redis Cluster did not start (see $state/redis-*.log)"
        redis_url="redis+cluster://$(printf '127.0.0.1:%s,' "${redis_ports[@]}")"
        redis_url="${redis_url%,}"
    else
        redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$state" \
            >"$state/redis.log" 2>&1 &
        echo $! >"$state/redis.pid"
        for _ in $(seq 1 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; pid_alive "$state/redis.pid" || break; sleep 0.05; done
        # The Redis that answers must be the one started here.
        local answering
        answering="$(redis-cli -p "$redis_port" info server 2>/dev/null | tr -d '\r' | sed -n 's/^process_id://p')"
        if ! pid_alive "$state/redis.pid" || [[ "$answering" != "$(cat "$state/redis.pid")" ]]; then
            fail "redis-server did not start on port $redis_port: $(tail -n 3 "$state/redis.log" 2>/dev/null | tr '\n' ' ')"
        fi
    fi

    local i=0 port
    for port in "${node_ports[@]}"; do
        i=$((i + 1))
        SWITCHBOARD_PORT="$port" SWITCHBOARD_REDIS_URL="$redis_url" SWITCHBOARD_NODE_ID="node$i" \
            SWITCHBOARD_DRAIN_PERIOD="${SWITCHBOARD_DRAIN_PERIOD:-2}" \
            "$(switchboard_bin)" serve >"$state/node$i.log" 2>&1 &
        echo $! >"$state/node$i.pid"
    done

    {
        echo "global"
        echo "    stats socket $state/haproxy.sock mode 600 level admin"
        # Two descriptors per proxied connection, within this shell's open-files limit.
        echo "    maxconn $(( ($(ulimit -n) - 200) / 2 ))"
        echo "defaults"
        echo "    mode http"
        echo "    retries 3"
        echo "    option redispatch"
        echo "    timeout connect 5s"
        echo "    timeout client 60s"
        echo "    timeout server 60s"
        echo "    timeout tunnel 1h"
        echo "frontend switchboard"
        echo "    bind 127.0.0.1:$lb_port"
        echo "    default_backend nodes"
        echo "backend nodes"
        echo "    balance leastconn"
        echo "    option httpchk GET /readyz"
        echo "    http-check expect status 200"
        echo "    default-server inter 1s fall 2 rise 1"
        i=0
        for port in "${node_ports[@]}"; do i=$((i + 1)); echo "    server node$i 127.0.0.1:$port check"; done
    } >"$state/haproxy.cfg"
    i=0
    for port in "${node_ports[@]}"; do
        i=$((i + 1))
        for _ in $(seq 1 300); do
            pid_alive "$state/node$i.pid" || fail "node$i could not start on port $port: $(grep -m1 -i 'cannot\|error' "$state/node$i.log" || tail -n 2 "$state/node$i.log")"
            curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
            sleep 0.1
        done
        curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 || fail "node$i on port $port is not ready after 30 s (see $state/node$i.log)"
    done

    haproxy -db -f "$state/haproxy.cfg" >"$state/haproxy.log" 2>&1 &
    echo $! >"$state/haproxy.pid"
    sleep 0.2
    pid_alive "$state/haproxy.pid" || fail "haproxy could not start on port $lb_port: $(tail -n 2 "$state/haproxy.log" | tr '\n' ' ')"
    # Wait until HAProxy's own health checks put every node in rotation.
    local up=0
    for _ in $(seq 1 100); do
        up="$(haproxy_servers_up)"
        [[ "$up" == "${#node_ports[@]}" ]] && break
        sleep 0.1
    done
    [[ "$up" == "${#node_ports[@]}" ]] || fail "haproxy sees $up of ${#node_ports[@]} nodes up (see $state/haproxy.log)"

    echo "cluster up:"
    echo "  load balancer  ws://127.0.0.1:$lb_port/stream"
    i=0
    for port in "${node_ports[@]}"; do i=$((i + 1)); echo "  node$i          ws://127.0.0.1:$port/stream   (http://127.0.0.1:$port/metrics)"; done
    echo "  redis          $redis_url"
    echo "  logs           $state/"
}

# How many backend servers HAProxy reports UP (from its stats socket).
haproxy_servers_up() {
    python3 - "$state/haproxy.sock" <<'PY' 2>/dev/null || echo 0
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"show stat\n")
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
rows = [line.split(",") for line in data.decode().splitlines() if line and not line.startswith("#")]
print(sum(1 for row in rows if len(row) > 17 and row[0] == "nodes" and row[1] not in ("BACKEND", "FRONTEND") and row[17].startswith("UP")))
PY
}

# status: only what `up` started (by PID); a node's /readyz only while its process runs.
status() {
    local name pidfile
    for pidfile in "$state"/*.pid; do
        [[ -e "$pidfile" ]] || { echo "not running"; return 0; }
        name="$(basename "$pidfile" .pid)"
        if pid_alive "$pidfile"; then echo "$name: running (pid $(cat "$pidfile"))"; else echo "$name: stopped"; fi
    done
    local i=0 port
    for port in "${node_ports[@]}"; do
        i=$((i + 1))
        pid_alive "$state/node$i.pid" || continue
        echo "node$i /readyz: $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz" || true)"
    done
}

down() {
    local pidfile pids=()
    # Every node at once, while HAProxy still checks them (it sees /readyz fail and stops routing
    # to them as they drain; each closes its sockets with 1001); then HAProxy and Redis.
    for pidfile in "$state"/node*.pid; do
        [[ -f "$pidfile" ]] && pids+=("$(cat "$pidfile")")
    done
    [[ ${#pids[@]} -gt 0 ]] && stop_pid "${pids[@]}"
    rm -f "$state"/node*.pid
    pids=()
    [[ -f "$state/haproxy.pid" ]] && pids+=("$(cat "$state/haproxy.pid")")
    # Only the redis-server `up` started, by its PID (never a Redis on the port by name).
    for pidfile in "$state"/redis*.pid; do
        [[ -f "$pidfile" ]] && pids+=("$(cat "$pidfile")")
    done
    [[ ${#pids[@]} -gt 0 ]] && stop_pid "${pids[@]}"
    rm -f "$state/haproxy.pid" "$state"/redis*.pid "$state/ports"
    echo "cluster down"
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    status) status ;;
    *) echo "usage: scripts/cluster.sh up|down|status" >&2; exit 2 ;;
esac
