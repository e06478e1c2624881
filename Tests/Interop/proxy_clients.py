"""Other libraries' own clients against a node whose methods and decisions are in a Python
backend (Examples/ProxyBackend/backend.py), through the node's proxies.

usage: proxy_clients.py WS_BASE API_KEY
The node runs with --proxy-connect, --proxy-rpc, --proxy-subscribe and --proxy-publish pointing
at the backend, --proxy-timeout 1, the channel rules open:* (subscribe and publish: proxy) and
user:* (subscribe: proxy, publish: server), and API_KEY.
"""
import asyncio
import json
import sys

import aiohttp
import websockets
from aiohttp_json_rpc import JsonRpcClient
from aiohttp_json_rpc.exceptions import (RpcGenericServerDefinedError, RpcInternalError, RpcInvalidParamsError,
                                         RpcMethodNotFoundError)
from wsrpc_aiohttp import WSRPCClient
from wsrpc_aiohttp.websocket.common import ClientException

from checks import check, run

BASE, API_KEY = sys.argv[1], sys.argv[2]
HTTP = BASE.replace("ws://", "http://")
ALICE = {"session": "alice-session"}


async def jsonrpc_client():
    client = JsonRpcClient()
    await client.connect_url(BASE + "/jsonrpc", cookies=ALICE)
    try:
        check("jsonrpc: a backend method by position", await client.call("add", [2, 3], timeout=5) == 5)
        check("jsonrpc: a backend method by name", await client.call("add", {"a": 4, "b": 5}, timeout=5) == 9)
        me = await client.call("whoami", [1, "x", None, {"k": [1, 2]}], timeout=5)
        check("jsonrpc: positional params reach the backend unchanged", me["params"] == [1, "x", None, {"k": [1, 2]}], me)
        me = await client.call("whoami", {"k": {"deep": [True, 1.5]}}, timeout=5)
        check("jsonrpc: named params reach the backend unchanged", me["params"] == {"k": {"deep": [True, 1.5]}}, me)
        check("jsonrpc: the backend sees the cookie session's user, the protocol and the cookie",
              me["user"] == "alice" and me["protocol"] == "jsonrpc" and me["cookie"] == "session=alice-session", me)
        try:
            await client.call("charge", {"amount": 5}, timeout=5)
            check("jsonrpc: a backend error with its own code", False, "no error")
        except RpcGenericServerDefinedError as error:
            check("jsonrpc: a backend error with its own code is -32000, the code and data in data",
                  error.error_code == -32000 and error.message == "Insufficient funds"
                  and error.data["error"]["data"] == {"code": 4001, "data": {"balance": 3, "asked": 5}}, vars(error))
        try:
            await client.call("add", ["x", 1], timeout=5)
            check("jsonrpc: the backend's -32602", False, "no error")
        except RpcInvalidParamsError as error:
            check("jsonrpc: the backend's -32602 with its message", error.message == "a and b must be numbers", vars(error))
        try:
            await client.call("no_such_method", timeout=5)
            check("jsonrpc: the backend's method not found", False, "no error")
        except RpcMethodNotFoundError:
            check("jsonrpc: the backend's method not found", True)
        check("jsonrpc: the node's own methods stay the node's",
              (await client.call("publish", {"channel": "lobby", "data": {"x": 1}}, timeout=5))["channel"] == "lobby")
    finally:
        await client.disconnect()


async def jsonrpc_faults():
    client = JsonRpcClient()
    await client.connect_url(BASE + "/jsonrpc", cookies=ALICE)
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        slow = asyncio.ensure_future(client.call("sleep", [5], timeout=10))
        check("jsonrpc: another call is answered while the backend hangs on one", await client.call("add", [1, 1], timeout=5) == 2)
        try:
            await slow
            check("jsonrpc: a hanging backend", False, "no error")
        except RpcInternalError as error:
            elapsed = loop.time() - started
            check("jsonrpc: a hanging backend is -32603 'backend unavailable' within the 1 s timeout",
                  "Backend unavailable (rpc proxy): no answer within 1 s" in error.message and elapsed < 3, (vars(error), elapsed))
        try:
            await client.call("garbage", timeout=5)
            check("jsonrpc: a garbage answer", False, "no error")
        except RpcInternalError as error:
            check("jsonrpc: a garbage answer is -32603 that says it is not JSON", "not JSON" in error.message, vars(error))
    finally:
        await client.disconnect()


async def wsrpc_client():
    events = []
    client = WSRPCClient(BASE + "/wsrpc", timeout=5, cookies=ALICE)
    client.add_event_listener(lambda event: events.append(event))
    await client.connect()
    try:
        check("wsrpc: a backend method", await client.call("add", a=1, b=2) == 3)
        me = await client.call("whoami", x=1, y=[None, "z"])
        check("wsrpc: params reach the backend unchanged, with the user and protocol",
              me["params"] == {"x": 1, "y": [None, "z"]} and me["user"] == "alice" and me["protocol"] == "wsrpc", me)
        try:
            await client.call("charge", amount=7)
            check("wsrpc: a backend error", False, "no error")
        except ClientException as error:
            check("wsrpc: a backend error is an exception with its message, code and data",
                  error.message == "Insufficient funds" and error.raw.get("code") == 4001
                  and error.raw.get("data") == {"balance": 3, "asked": 7}, error.raw)
        deadline = asyncio.get_running_loop().time() + 5
        while not any(isinstance(e, dict) and e.get("event") == "connect" for e in events) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        connect = next((e for e in events if isinstance(e, dict) and e.get("event") == "connect"), None)
        check("wsrpc: the connect event hands the backend's data to the client",
              connect is not None and connect["data"]["data"] == {"greeting": "hello alice"}, events)
    finally:
        await client.close()


async def connect_proxy():
    try:
        async with websockets.connect(BASE + "/stream"):
            check("a connection the backend refuses", False, "connected")
    except websockets.InvalidStatus as refusal:
        body = refusal.response.body.decode()
        check("a connection the backend refuses gets its status and reason before any upgrade",
              refusal.response.status_code == 401 and "not logged in" in body, (refusal.response.status_code, body))
    async with websockets.connect(BASE + "/stream", additional_headers={"Cookie": "session=alice-session"}) as socket:
        first = json.loads(await asyncio.wait_for(socket.recv(), 5))
        check("the connect event names the user and the server-side subscriptions",
              first == {"event": "connect", "data": {"user": "alice", "channels": ["user:alice"], "data": {"greeting": "hello alice"}}}, first)
        async with aiohttp.ClientSession() as http:
            async with http.post(HTTP + "/publish", json={"channel": "user:alice", "data": {"note": "for alice"}},
                                 headers={"Authorization": f"apikey {API_KEY}"}) as answer:
                check("the server publishes to the user's channel", answer.status == 200, answer.status)
        message = json.loads(await asyncio.wait_for(socket.recv(), 5))
        check("a message on the server-side subscription arrives with no subscribe sent",
              message.get("channel") == "user:alice" and message.get("data") == {"note": "for alice"}, message)
        await socket.send(json.dumps({"id": "s", "method": "session", "payload": {}}))
        session = json.loads(await asyncio.wait_for(socket.recv(), 5))
        check("the socket has the backend's user and permissions",
              session["response"]["user"] == "alice" and session["response"]["permissions"] == ["editor"], session)


async def channel_proxies():
    async with websockets.connect(BASE + "/stream", additional_headers={"Cookie": "session=bob-session"}) as socket:
        await asyncio.wait_for(socket.recv(), 5)  # the connect event

        async def call(request):
            await socket.send(json.dumps(request))
            while True:
                reply = json.loads(await asyncio.wait_for(socket.recv(), 5))
                if reply.get("id") == request["id"]:
                    return reply
        refused = await call({"id": "1", "method": "subscribe", "payload": {"channel": "user:alice"}})
        check("subscribe proxy: the backend's refusal", refused.get("error") == {"message": "user:alice is not yours", "code": 403}, refused)
        allowed = await call({"id": "2", "method": "subscribe", "payload": {"channel": "open:chat"}})
        check("subscribe proxy: the backend's yes", "open:chat" in allowed["response"]["subscribed"], allowed)
        published = await call({"id": "3", "method": "publish", "payload": {"channel": "open:chat", "data": {"text": "hi"}}})
        check("publish proxy: the backend rewrites the data", published["response"]["data"] == {"text": "hi", "checked": True}, published)
        banned = await call({"id": "4", "method": "publish", "payload": {"channel": "open:chat", "data": {"text": "forbidden"}}})
        check("publish proxy: the backend's refusal", banned.get("error", {}).get("code") == 403, banned)
        announced = await call({"id": "5", "method": "announce", "payload": {"text": "from python"}})
        check("the backend publishes through the node's HTTP API", announced.get("response") == {"published": True}, announced)


asyncio.run(run(jsonrpc_client, jsonrpc_faults, wsrpc_client, connect_proxy, channel_proxies))
