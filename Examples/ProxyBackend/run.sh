#!/usr/bin/env bash
# Starts the example Python backend (backend.py) and a node in front of it, on loopback.
#   Examples/ProxyBackend/run.sh            # backend on :8000, node on :8080
# Needs aiohttp (pip install aiohttp) and a built node (swift build --product switchboard).
# Then, for example:
#   curl -s localhost:8080/readyz
#   python3 -c 'import asyncio, websockets, json
#   async def go():
#       async with websockets.connect("ws://127.0.0.1:8080/stream", additional_headers={"Cookie": "session=alice-session"}) as ws:
#           print(await ws.recv())
#           await ws.send(json.dumps({"id": "1", "method": "add", "payload": {"a": 1, "b": 2}})); print(await ws.recv())
#   asyncio.run(go())'
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="${PYTHON:-python3}"
backend_port="${BACKEND_PORT:-8000}"
node_port="${NODE_PORT:-8080}"
api_key="${API_KEY:-example-api-key}"
config="$(mktemp)"
cat > "$config" <<JSON
{"auth": {"api_keys": ["$api_key"]},
 "channels": [{"match": "open:*", "subscribe": "proxy", "publish": "proxy"},
              {"match": "user:*", "subscribe": "proxy", "publish": "server"}]}
JSON
"$python" "$here/backend.py" --port "$backend_port" --node "http://127.0.0.1:$node_port" --api-key "$api_key" &
backend=$!
trap 'kill "$backend" 2>/dev/null; rm -f "$config"' EXIT
node="${SWITCHBOARD:-$root/.build/debug/switchboard}"
backend_url="http://127.0.0.1:$backend_port"
"$node" serve --port "$node_port" --config "$config" \
    --proxy-connect "$backend_url/connect" --proxy-rpc "$backend_url/rpc" \
    --proxy-subscribe "$backend_url/subscribe" --proxy-publish "$backend_url/publish"
