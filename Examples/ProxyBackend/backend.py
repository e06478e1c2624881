"""An application backend for Switchboard's proxies (docs/proxy.md), in Python with aiohttp.

It keeps its methods and decisions in Python; a stock `switchboard serve` fronts it:

    switchboard serve --proxy-connect http://127.0.0.1:8000/connect --proxy-rpc http://127.0.0.1:8000/rpc \
        --proxy-subscribe http://127.0.0.1:8000/subscribe --proxy-publish http://127.0.0.1:8000/publish

usage: backend.py [--port 8000] [--node http://127.0.0.1:8080] [--api-key KEY]

- POST /connect: a cookie session (`session=alice-session`) names the user; the socket gets the
  user's permissions, a server-side subscription to `user:<name>`, and a greeting. No session: 401.
- POST /rpc: `add(a, b)` (by name or position), `whoami`, `charge(amount)` (an application error
  with code and data), `announce(text)` (publishes through the node's HTTP API), `sleep(seconds)`.
- POST /subscribe: `open:*` for anyone, `user:<name>` for that user only.
- POST /publish: refuses data with "forbidden" in it; stamps objects with `"checked": true`.
"""
import argparse
import asyncio
import json
import sys

import aiohttp
from aiohttp import web

SESSIONS = {
    "alice-session": {"user": "alice", "permissions": ["editor"]},
    "bob-session": {"user": "bob", "permissions": []},
}


def error(code, message, data=None):
    body = {"code": code, "message": message}
    if data is not None:
        body["data"] = data
    return web.json_response({"error": body})


def result(value):
    return web.json_response({"result": value})


async def connect(request):
    session = SESSIONS.get(request.cookies.get("session", ""))
    if session is None:
        return error(401, "not logged in: no valid session cookie")
    user = session["user"]
    return result({
        "user": user,
        "permissions": session["permissions"],
        "channels": [f"user:{user}"],
        "data": {"greeting": f"hello {user}"},
    })


async def rpc(request):
    body = await request.json()
    method, params = body["method"], body["params"]
    if method == "add":
        a, b = (params["a"], params["b"]) if isinstance(params, dict) else params
        if not all(isinstance(x, (int, float)) for x in (a, b)):
            return error(-32602, "a and b must be numbers")
        return result(a + b)
    if method == "whoami":
        return result({
            "user": body["user"], "socket": body["socket"], "protocol": body["protocol"],
            "claims": body["claims"], "params": params, "cookie": request.headers.get("Cookie"),
        })
    if method == "charge":
        amount = params["amount"] if isinstance(params, dict) else params[0]
        return error(4001, "Insufficient funds", {"balance": 3, "asked": amount})
    if method == "announce":
        text = params["text"] if isinstance(params, dict) else params[0]
        node = request.app["node"]
        async with aiohttp.ClientSession() as client:
            async with client.post(f"{node}/publish", json={"channel": "open:announcements", "data": {"text": text}},
                                   headers={"Authorization": f"apikey {request.app['api_key']}"}) as answer:
                return result({"published": answer.status == 200})
    if method == "sleep":
        seconds = params["seconds"] if isinstance(params, dict) else params[0]
        await asyncio.sleep(seconds)
        return result(seconds)
    if method == "garbage":
        return web.Response(text="this is not JSON", content_type="text/plain")
    return error(-32601, f"Method not found: {method}")


async def subscribe(request):
    body = await request.json()
    channel, user = body["channel"], body["user"]
    if channel.startswith("open:") or (user is not None and channel == f"user:{user}"):
        return result({})
    return error(403, f"{channel} is not yours")


async def publish(request):
    body = await request.json()
    data = body["data"]
    if "forbidden" in json.dumps(data):
        return error(403, "that word is not allowed here")
    if isinstance(data, dict):
        return result({"data": {**data, "checked": True}})
    return result({})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--node", default="http://127.0.0.1:8080", help="the node's HTTP API, for announce")
    parser.add_argument("--api-key", default="", help="an API key of the node, for announce")
    args = parser.parse_args()
    app = web.Application()
    app["node"], app["api_key"] = args.node, args.api_key
    app.add_routes([web.post("/connect", connect), web.post("/rpc", rpc),
                    web.post("/subscribe", subscribe), web.post("/publish", publish)])

    async def announce_port(app):
        for site in app_runner.sites:
            port = site._server.sockets[0].getsockname()[1]
            print(f"listening on http://{args.host}:{port}", flush=True)

    app_runner = web.AppRunner(app, access_log=None)

    async def serve():
        await app_runner.setup()
        site = web.TCPSite(app_runner, args.host, args.port)
        await site.start()
        await announce_port(app)
        await asyncio.Event().wait()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
