"""The wheel's own wsrpc.js (wsrpc-aiohttp 4.1.1) in headless Chromium against /wsrpc.

usage: browser_wsrpc.py BASE   (http://host:port of a node with subtract, area and kv; pings every second)
"""
import json
import pathlib
import sys
import tempfile

import aiohttp
import asyncio
import wsrpc_aiohttp

from browser import chrome, static_server, wait_for
from checks import check, run

BASE = sys.argv[1]
WS = BASE.replace("http://", "ws://") + "/wsrpc"
WSRPC_JS = pathlib.Path(wsrpc_aiohttp.__file__).parent / "static" / "wsrpc.js"

PAGE = """<!doctype html><meta charset="utf-8"><title>wsrpc</title>
<script src="wsrpc.js"></script>
<script>
  window.events = [];
  window.rpc = new WSRPC(%s, 1000);
  rpc.addRoute("multiply", (params) => params.x * params.y);
  rpc.addServerEventListener((event) => window.events.push(event));
  rpc.connect();
</script>"""


async def browser_checks():
    with tempfile.TemporaryDirectory() as directory:
        (pathlib.Path(directory) / "wsrpc.js").write_bytes(WSRPC_JS.read_bytes())
        (pathlib.Path(directory) / "index.html").write_text(PAGE % json.dumps(WS))
        driver = chrome()
        try:
            with static_server(directory) as site:
                driver.get(site + "/index.html")

                def call(method, params=None):
                    return driver.execute_async_script(
                        "const done = arguments[arguments.length - 1];"
                        "rpc.call(arguments[0], arguments[1]).then((r) => done({result: r}), (e) => done({error: e}));",
                        method, params or {})

                check("wsrpc.js connects", wait_for(lambda: driver.execute_script("return rpc.state()") == "OPEN"))
                check("subtract", call("subtract", {"a": 10, "b": 3}) == {"result": 7})
                check("kv.set", call("kv.set", {"key": "k", "value": [1, 2]}) == {"result": True})
                check("kv.get", call("kv.get", {"key": "k"}) == {"result": [1, 2]})
                error = call("no_such_route")
                check("an unknown route rejects with the server's error", (error.get("error") or {}).get("type") == "NotImplementedError", error)
                check("a route that calls the browser's multiply back", call("area", {"x": 6, "y": 7}) == {"result": 42})
                socket = call("session")["result"]["socket"]
                async with aiohttp.ClientSession() as http:
                    async with http.post(BASE + "/call", json={"socket": socket, "method": "multiply", "params": {"x": 5, "y": 5}, "timeout_ms": 3000}) as response:
                        body = await response.json()
                        check("POST /call reaches the page's multiply route", response.status == 200 and body == {"result": 25}, (response.status, body))
                call("subscribe", {"channel": "browser"})
                call("publish", {"channel": "browser", "event": "e", "data": {"from": "page"}})
                arrived = wait_for(lambda: driver.execute_script("return window.events.filter((e) => e.channel === 'browser')"))
                check("channel messages arrive as server events", arrived == [{"channel": "browser", "event": "e", "data": {"from": "page"}}], arrived)
                await asyncio.sleep(2.5)  # the node pings every second: wsrpc.js's ping route answers
                check("the keepalive pings are answered: still connected", driver.execute_script("return rpc.state()") == "OPEN"
                      and call("subtract", {"a": 2, "b": 2}) == {"result": 0})
        finally:
            driver.quit()


asyncio.run(run(browser_checks))
