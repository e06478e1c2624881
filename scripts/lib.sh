# Shared helpers for scripts/: start processes on free loopback ports, stop them by PID.
# shellcheck shell=bash

SWITCHBOARD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# The switchboard binary (debug build unless SWITCHBOARD_BIN says otherwise).
switchboard_bin() {
    echo "${SWITCHBOARD_BIN:-$SWITCHBOARD_ROOT/.build/debug/switchboard}"
}

# A free TCP port on 127.0.0.1 (the kernel picks it; tiny race until it is bound again).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# free_ports N [TAKEN...]: N different free ports on 127.0.0.1, none of TAKEN, on one line. Ports
# picked one by one and bound later can come back twice: a port picked but not yet bound is free
# to the kernel (seen once in CI: a Redis Cluster node's bus port was another node's port).
free_ports() {
    local count="$1"; shift
    local taken=" $* " ports=() port
    while (( ${#ports[@]} < count )); do
        port="$(free_port)"
        [[ "$taken" == *" $port "* ]] && continue
        taken+="$port "
        ports+=("$port")
    done
    echo "${ports[*]}"
}

# start_node LOGFILE [serve args...]: starts `switchboard serve --port 0 ...` in the background and
# waits until it listens; prints "PID PORT".
start_node() {
    local log="$1"; shift
    "$(switchboard_bin)" serve --port 0 "$@" >"$log" 2>&1 &
    local pid=$!
    local port=""
    for _ in $(seq 1 300); do
        port="$(grep -o 'address=127\.0\.0\.1:[0-9]*' "$log" 2>/dev/null | head -n 1 | cut -d: -f2 || true)"
        [[ -n "$port" ]] && break
        kill -0 "$pid" 2>/dev/null || { echo "node exited early:" >&2; cat "$log" >&2; return 1; }
        sleep 0.1
    done
    [[ -n "$port" ]] || { echo "node did not start within 30 s:" >&2; cat "$log" >&2; kill "$pid"; return 1; }
    echo "$pid $port"
}

# wait_ready PORT: waits until /readyz answers 200 (30 s at most).
wait_ready() {
    local port="$1"
    for _ in $(seq 1 300); do
        if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    echo "node on port $port is not ready after 30 s" >&2
    return 1
}

# stop_pid PID...: SIGTERM to all at once (nodes drain in parallel), then SIGKILL to any still
# running after 15 s; waits for each.
stop_pid() {
    local pid pids=()
    for pid in "$@"; do
        [[ -n "$pid" ]] || continue
        kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
    done
    for _ in $(seq 1 150); do
        local alive=0
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [[ $alive == 1 ]] || break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}

# start_redis WORKDIR [extra args...]: starts redis-server on a free port; prints "PID PORT".
start_redis() {
    local dir="$1"; shift
    local port pid
    for _ in 1 2 3 4 5; do
        port="$(free_port)"
        redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" "$@" \
            >"$dir/redis-$port.log" 2>&1 &
        pid=$!
        for _ in $(seq 1 100); do
            if redis-cli -p "$port" ping >/dev/null 2>&1; then echo "$pid $port"; return 0; fi
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        stop_pid "$pid"
    done
    echo "redis-server did not start" >&2
    return 1
}

# start_redis_cluster DIR PORT...: a Redis Cluster on loopback: a redis-server in cluster mode on
# each PORT (its cluster bus on a free port; cluster-node-timeout 2000 ms), PIDs in
# DIR/redis-PORT.pid, joined by `redis-cli --cluster create` with one replica per primary (so six
# ports give 3 primaries and 3 replicas). Waits until every node says cluster_state:ok; prints
# the PIDs on one line.
start_redis_cluster() {
    local dir="$1"; shift
    local port pids=() buses
    # The bus ports: never one of the nodes' ports (bound only as each server starts).
    read -r -a buses < <(free_ports $# "$@")
    for port in "$@"; do
        redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" \
            --cluster-enabled yes --cluster-config-file "$dir/nodes-$port.conf" --cluster-node-timeout 2000 \
            --cluster-port "${buses[${#pids[@]}]}" >"$dir/redis-$port.log" 2>&1 &
        pids+=("$!")
        echo "$!" >"$dir/redis-$port.pid"
    done
    for port in "$@"; do
        for _ in $(seq 1 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
    done
    local addresses=()
    for port in "$@"; do addresses+=("127.0.0.1:$port"); done
    if ! redis-cli --cluster create "${addresses[@]}" --cluster-replicas 1 --cluster-yes >"$dir/cluster-create.log" 2>&1; then
        echo "redis-cli --cluster create failed: $(tail -n 3 "$dir/cluster-create.log" | tr '\n' ' ')" >&2
        stop_pid "${pids[@]}"
        return 1
    fi
    for port in "$@"; do
        for _ in $(seq 1 300); do redis-cli -p "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok' && break; sleep 0.1; done
        redis-cli -p "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || { echo "Redis Cluster node $port not ok after 30 s" >&2; stop_pid "${pids[@]}"; return 1; }
    done
    echo "${pids[*]}"
}
