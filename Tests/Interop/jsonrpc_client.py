"""aiohttp-json-rpc's own client against /jsonrpc on two nodes of one Redis.

usage: jsonrpc_client.py BASE_A BASE_B   (ws://host:port of each node; both with --topics news)
Both nodes serve the application methods `add(a, b)`, `sleep(seconds)` and `refuse()`, which
raises -32050.
"""
import asyncio
import json
import sys
import uuid

import aiohttp
import websockets
from aiohttp_json_rpc import JsonRpcClient
from aiohttp_json_rpc.exceptions import RpcGenericServerDefinedError, RpcInvalidParamsError, RpcMethodNotFoundError

from checks import check, run

A, B = sys.argv[1], sys.argv[2]


async def methods_and_calls():
    client = JsonRpcClient()
    await client.connect_url(A + "/jsonrpc")
    try:
        methods = await client.get_methods(timeout=5)
        builtins = {"get_methods", "get_topics", "get_subscriptions", "subscribe", "unsubscribe", "publish", "info"}
        check("get_methods lists the built-ins and the application's methods", builtins <= set(methods) and "add" in methods, methods)
        check("get_topics lists the declared topics", await client.get_topics(timeout=5) == ["news"])
        check("a call by position returns its result", await client.call("add", [2, 3], timeout=5) == 5)
        check("a call by name returns its result", await client.call("add", {"a": 4, "b": 5}, timeout=5) == 9)
        reply = await client.call("publish", {"channel": "elsewhere", "data": {"x": 1}}, timeout=5)
        check("publish answers with the message", reply == {"channel": "elsewhere", "event": None, "data": {"x": 1}}, reply)
        try:
            await client.call("no_such_method", timeout=5)
            check("an unknown method raises RpcMethodNotFoundError", False, "no error")
        except RpcMethodNotFoundError:
            check("an unknown method raises RpcMethodNotFoundError", True)
        try:
            await client.call("add", [1], timeout=5)
            check("missing params raise RpcInvalidParamsError", False, "no error")
        except RpcInvalidParamsError as error:
            check("missing params raise RpcInvalidParamsError", True)
        try:
            await client.call("refuse", timeout=5)
            check("a server-defined error keeps its code and message", False, "no error")
        except RpcGenericServerDefinedError as error:
            check("a server-defined error keeps its code and message", error.error_code == -32050 and error.message == "Computer says no.", vars(error))
        try:
            await client.call("add", ["x", 1], timeout=5)
            check("an application's own message on -32602 reaches the client", False, "no error")
        except RpcInvalidParamsError as error:
            check("an application's own message on -32602 reaches the client", error.message == "'a' has to be 'int'", vars(error))
        check("extra positional params are dropped, as the library does", await client.call("add", [1, 2, 3], timeout=5) == 3)
    finally:
        await client.disconnect()


async def no_head_of_line():
    """A call queued behind a slow one is answered first: with JsonRpcClient's default 1 s
    timeout it would fail if it waited for `sleep(2)`."""
    client = JsonRpcClient()
    await client.connect_url(B + "/jsonrpc")
    try:
        slow = asyncio.ensure_future(client.call("sleep", [2], timeout=10))
        await asyncio.sleep(0.1)
        started = asyncio.get_running_loop().time()
        check("a call behind a 2 s method is answered within the default 1 s timeout", await client.call("add", [1, 1]) == 2)
        check("...long before the slow one", asyncio.get_running_loop().time() - started < 0.9)
        check("the slow call gets its own answer", await slow == 2)
    finally:
        await client.disconnect()


async def topic_across_nodes():
    received = asyncio.get_running_loop().create_future()

    async def on_news(message):
        if not received.done():
            received.set_result(message)

    subscriber = JsonRpcClient()
    await subscriber.connect_url(B + "/jsonrpc")
    try:
        topics = await subscriber.subscribe("news", on_news, timeout=5)
        check("subscribe returns the topics held", topics == ["news"], topics)
        check("get_subscriptions lists it", await subscriber.get_subscriptions(timeout=5) == ["news"])
        token = uuid.uuid4().hex
        async with websockets.connect(A + "/stream") as stream:
            await stream.send(json.dumps({"id": "p", "method": "publish", "payload": {"channel": "news", "event": "e", "data": {"t": token}}}))
            await stream.recv()
        message = await asyncio.wait_for(received, 5)
        check("a /stream publish on node A reaches the topic's handler on node B", message.get("params") == {"t": token}, message)
        await subscriber.unsubscribe("news", timeout=5)
        check("unsubscribe leaves no topic", await subscriber.get_subscriptions(timeout=5) == [])
    finally:
        await subscriber.disconnect()


async def state_across_nodes():
    publisher = JsonRpcClient()
    await publisher.connect_url(A + "/jsonrpc")
    state = {"score": uuid.uuid4().hex}
    await publisher.call("publish", {"channel": "news", "data": state, "state": True}, timeout=5)
    await publisher.disconnect()
    received = asyncio.get_running_loop().create_future()

    async def on_news(message):
        if not received.done():
            received.set_result(message)

    late = JsonRpcClient()
    await late.connect_url(B + "/jsonrpc")
    try:
        await late.subscribe("news", on_news, timeout=5)
        message = await asyncio.wait_for(received, 5)
        check("a later subscriber on node B gets the topic's state at once", message.get("params") == state, message)
    finally:
        await late.disconnect()


async def browser_snippet():
    """What README's plain WebSocket snippet sends, as a browser would."""
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(A + "/jsonrpc") as ws:
            await ws.send_str(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "subscribe", "params": "news"}))
            reply = json.loads((await ws.receive(timeout=5)).data)
            if reply.get("method") == "news":  # the topic's state comes first
                reply = json.loads((await ws.receive(timeout=5)).data)
            check("the README snippet's subscribe gets its reply", reply == {"jsonrpc": "2.0", "id": 1, "result": ["news"]}, reply)
            await ws.send_str(json.dumps([
                {"jsonrpc": "2.0", "id": 2, "method": "add", "params": [1, 2]},
                {"jsonrpc": "2.0", "method": "add", "params": [1, 2]},
                {"jsonrpc": "2.0", "id": 3, "method": "get_topics"},
            ]))
            reply = json.loads((await ws.receive(timeout=5)).data)
            check("a batch gets one array of replies, without the notification's",
                  reply == [{"jsonrpc": "2.0", "id": 2, "result": 3}, {"jsonrpc": "2.0", "id": 3, "result": ["news"]}], reply)


asyncio.run(run(methods_and_calls, no_head_of_line, topic_across_nodes, state_across_nodes, browser_snippet))
