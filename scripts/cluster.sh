#!/usr/bin/env bash
# The compose topology without Docker, on loopback: redis-server, three nodes and HAProxy.
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
state="${SWITCHBOARD_CLUSTER_DIR:-$SWITCHBOARD_ROOT/.cluster}"

# `up` records the ports it used, so that `status` and `down` need no environment.
if [[ -f "$state/ports" ]]; then
    # shellcheck disable=SC1091
    source "$state/ports"
fi

pid_alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

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
    if pid_alive "$state/redis.pid"; then echo "the cluster is already up (scripts/cluster.sh down first)" >&2; exit 1; fi
    printf 'lb_port=%q\nnode_ports=(%s)\nredis_port=%q\n' "$lb_port" "${node_ports[*]}" "$redis_port" >"$state/ports"
    [[ -x "$(switchboard_bin)" ]] || swift build --product switchboard

    redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$state" \
        >"$state/redis.log" 2>&1 &
    echo $! >"$state/redis.pid"
    for _ in $(seq 1 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done
    redis-cli -p "$redis_port" ping >/dev/null || { echo "redis-server did not start:" >&2; cat "$state/redis.log" >&2; exit 1; }

    local i=0 port
    for port in "${node_ports[@]}"; do
        i=$((i + 1))
        SWITCHBOARD_PORT="$port" SWITCHBOARD_REDIS_URL="redis://127.0.0.1:$redis_port" SWITCHBOARD_NODE_ID="node$i" \
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
    for port in "${node_ports[@]}"; do
        wait_ready "$port" || { echo "see $state/node*.log" >&2; down; exit 1; }
    done

    haproxy -db -f "$state/haproxy.cfg" >"$state/haproxy.log" 2>&1 &
    echo $! >"$state/haproxy.pid"
    # Wait until HAProxy's own health checks put every node in rotation.
    local up=0
    for _ in $(seq 1 100); do
        up="$(haproxy_servers_up)"
        [[ "$up" == "${#node_ports[@]}" ]] && break
        sleep 0.1
    done
    [[ "$up" == "${#node_ports[@]}" ]] || { echo "haproxy sees $up of ${#node_ports[@]} nodes up:" >&2; cat "$state/haproxy.log" >&2; down; exit 1; }

    echo "cluster up:"
    echo "  load balancer  ws://127.0.0.1:$lb_port/stream"
    i=0
    for port in "${node_ports[@]}"; do i=$((i + 1)); echo "  node$i          ws://127.0.0.1:$port/stream   (http://127.0.0.1:$port/metrics)"; done
    echo "  redis          redis://127.0.0.1:$redis_port"
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
    if [[ -f "$state/redis.pid" ]]; then
        # SHUTDOWN NOSAVE returns at once; SIGTERM (stop_pid) is the fallback.
        redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
        pids+=("$(cat "$state/redis.pid")")
    fi
    [[ ${#pids[@]} -gt 0 ]] && stop_pid "${pids[@]}"
    rm -f "$state/haproxy.pid" "$state/redis.pid" "$state/ports"
    echo "cluster down"
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    status) status ;;
    *) echo "usage: scripts/cluster.sh up|down|status" >&2; exit 2 ;;
esac
