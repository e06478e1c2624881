"""wsrpc-aiohttp's own WSRPCClient against /wsrpc on two nodes of one Redis.

usage: wsrpc_client.py BASE_A BASE_B   (ws://host:port of each node; node B pings every 0.3 s)
Both nodes serve subtract(a, b), area(x, y) (which calls the client's multiply), sleep(seconds)
and the class route kv (kv(mode), kv.set, kv.get).
"""
import asyncio
import json
import sys
import uuid

import aiohttp
import websockets
from wsrpc_aiohttp import WSRPCClient
from wsrpc_aiohttp.websocket.common import ClientException

from checks import check, run

A, B = sys.argv[1], sys.argv[2]
HTTP_A = A.replace("ws://", "http://")


def multiply(socket, *, x, y):
    return x * y


async def connect(base):
    client = WSRPCClient(base + "/wsrpc", timeout=5)
    events = []
    client.add_route("multiply", multiply)
    client.add_event_listener(lambda event: events.append(event))
    await client.connect()
    return client, events


async def until(predicate, seconds=5.0):
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return predicate()


async def routes():
    client, _ = await connect(B)
    try:
        session = await client.call("session")
        check("session names the socket, its node and protocol",
              session.get("protocol") == "wsrpc" and session.get("socket", "").startswith(session.get("node", "?") + "."), session)
        check("a function route: subtract", await client.call("subtract", a=10, b=3) == 7)
        check("a class route: kv.set", await client.call("kv.set", key="answer", value=42) is True)
        check("a class route: kv.get", await client.call("kv.get", key="answer") == 42)
        other, _ = await connect(B)
        check("each socket has its own kv", await other.call("kv.get", key="answer") is None)
        await other.close()
        try:
            await client.call("no_such_route")
            check("an unknown route raises ClientException", False, "no error")
        except ClientException as error:
            check("an unknown route raises ClientException", error.type == "NotImplementedError", error.raw)
        check("the node's route calls the client's multiply and answers with its result", await client.call("area", x=10, y=20) == 200)
        check("the bare class route runs its init with the params", await client.call("kv", mode="test") == {"mode": "test"})
        try:
            await client.call("kv.nope")
            check("an unknown member of a class route: Method not implemented", False, "no error")
        except ClientException as error:
            check("an unknown member of a class route: Method not implemented",
                  error.type == "NotImplementedError" and error.message == "Method not implemented", error.raw)
        try:
            await client.call("kv._store")
            check("a member starting with _ is masked", False, "no error")
        except ClientException as error:
            check("a member starting with _ is masked", error.type == "NotImplementedError" and error.message == "Method masked", error.raw)
        try:
            await client.call("kv.get")
            check("a call with missing arguments raises TypeError", False, "no error")
        except ClientException as error:
            check("a call with missing arguments raises TypeError", error.type == "TypeError", error.raw)
        slow = asyncio.ensure_future(client.call("sleep", seconds=2))
        await asyncio.sleep(0.1)
        started = asyncio.get_running_loop().time()
        check("a call behind a 2 s route is answered first", await client.call("subtract", a=5, b=2) == 3)
        check("...long before the slow one", asyncio.get_running_loop().time() - started < 0.9)
        check("the slow route gets its own answer", await slow == 2)
        await asyncio.sleep(1.0)  # node B pings every 0.3 s: the client's ping route answers them
        check("the node's keepalive pings are answered: the socket is still served", await client.call("subtract", a=1, b=1) == 0)
    finally:
        await client.close()


async def events_across_nodes():
    client, events = await connect(B)
    try:
        await client.call("subscribe", channel="live")
        token = uuid.uuid4().hex
        async with websockets.connect(A + "/stream") as stream:
            await stream.send(json.dumps({"id": "p", "method": "publish", "payload": {"channel": "live", "event": "e", "data": {"t": token}}}))
            await stream.recv()
        arrived = await until(lambda: any(isinstance(e, dict) and e.get("data") == {"t": token} for e in events))
        check("a /stream publish on node A arrives on node B as an event", arrived, events[-3:])
        event = next((e for e in events if isinstance(e, dict) and e.get("data") == {"t": token}), None)
        check("the event is {channel, event, data}", event == {"channel": "live", "event": "e", "data": {"t": token}}, event)
    finally:
        await client.close()


async def calls_from_anywhere():
    client, events = await connect(B)
    try:
        socket = (await client.call("session"))["socket"]
        async with aiohttp.ClientSession() as http:
            async with http.post(HTTP_A + "/call", json={"socket": socket, "method": "multiply", "params": {"x": 6, "y": 7}, "timeout_ms": 3000}) as response:
                body = await response.json()
                check("POST /call on node A reaches the client on node B", response.status == 200 and body == {"result": 42}, (response.status, body))
            async with http.post(HTTP_A + "/emit", json={"socket": socket, "event": {"hello": "from A"}}) as response:
                check("POST /emit on node A", response.status == 200, response.status)
            check("the emitted event arrives", await until(lambda: {"hello": "from A"} in events), events[-3:])
            async with http.post(HTTP_A + "/call", json={"socket": socket, "method": "no_such_route", "timeout_ms": 3000}) as response:
                body = await response.json()
                check("a client's error comes back as 502 with its type", response.status == 502 and "NotImplementedError" in body["error"]["message"], (response.status, body))
        await client.close()
        async with aiohttp.ClientSession() as http:
            async with http.post(HTTP_A + "/call", json={"socket": socket, "method": "multiply", "params": {"x": 1, "y": 1}}) as response:
                check("a gone socket is 404", response.status == 404, response.status)
    finally:
        await client.close()


asyncio.run(run(routes, events_across_nodes, calls_from_anywhere))
