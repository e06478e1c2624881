"""clients/js (the ES module, its classic build, and the demo page) in headless Chromium, across
two nodes of one Redis that this script starts from the built binary.

usage: browser_js.py SWITCHBOARD_BINARY REDIS_URL SCREENSHOT.png
"""
import asyncio
import json
import pathlib
import sys
import tempfile
import uuid

import websockets
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from browser import Node, chrome, static_server, wait_for
from checks import check, run

BINARY, REDIS, SCREENSHOT = sys.argv[1], sys.argv[2], sys.argv[3]
nodes = []


async def publish(node, channel, data, event=None):
    async with websockets.connect(node.stream) as ws:
        payload = {"channel": channel, "data": data}
        if event:
            payload["event"] = event
        await ws.send(json.dumps({"id": "p", "method": "publish", "payload": payload}))
        await ws.recv()


async def demo_page():
    a, b = nodes
    driver = chrome()
    try:
        driver.get(a.http + "/")
        first = driver.current_window_handle
        driver.switch_to.new_window("tab")
        driver.get(b.http + "/")
        second = driver.current_window_handle
        for handle in (first, second):
            driver.switch_to.window(handle)
            check("the demo page subscribes on load", wait_for(lambda: driver.execute_script("return document.body.dataset.subscribed") == "demo"))
        driver.switch_to.window(first)
        text = "hello from the first tab " + uuid.uuid4().hex[:6]
        box = driver.find_element(By.ID, "message")
        box.send_keys(text)
        box.send_keys(Keys.ENTER)
        driver.switch_to.window(second)
        shown = wait_for(lambda: text in driver.find_element(By.ID, "messages").text)
        check("a message typed in a tab on node A appears in a tab on node B", shown, driver.find_element(By.ID, "messages").text)
        nodes_shown = driver.find_element(By.ID, "node").text
        driver.save_screenshot(SCREENSHOT)
        check("the page shows which node it is on", nodes_shown.startswith("node-"), nodes_shown)
    finally:
        driver.quit()


async def module_across_nodes_with_reconnect():
    a, b = nodes
    page = f"""<!doctype html><meta charset="utf-8">
<script type="module">
  import {{ SwitchboardClient }} from "{a.http}/switchboard.js";
  window.received = [];
  window.client = await SwitchboardClient.connect(["{a.stream}", "{b.stream}"]);
  client.onreconnect = (event) => {{ window.reconnected = event.url; }};
  await client.subscribe("room", (message) => window.received.push(message));
  window.ready = true;
</script>"""
    with tempfile.TemporaryDirectory() as directory:
        (pathlib.Path(directory) / "index.html").write_text(page)
        driver = chrome()
        try:
            with static_server(directory) as site:
                driver.get(site + "/index.html")
                check("the module loads from the node and connects to node A", wait_for(lambda: driver.execute_script("return window.ready === true")))
                received = lambda: driver.execute_script("return window.received")
                await publish(b, "room", {"n": 1}, "hello")
                got = wait_for(lambda: received())
                check("a publish on node B reaches the page on node A", got == [{"channel": "room", "event": "hello", "data": {"n": 1}}], got)
                async with websockets.connect(b.stream) as listener:
                    await listener.send(json.dumps({"id": "s", "method": "subscribe", "payload": {"channel": "room"}}))
                    await listener.recv()
                    driver.execute_script("window.client.publish('room', {from: 'page'}, 'e')")
                    message = json.loads(await asyncio.wait_for(listener.recv(), 5))
                    if "id" in message:  # the publish reply came first
                        message = json.loads(await asyncio.wait_for(listener.recv(), 5))
                    check("a publish from the page reaches a subscriber on node B", message.get("data") == {"from": "page"}, message)
                a.stop()  # SIGTERM: the page's socket gets 1001 and moves on to node B
                moved = wait_for(lambda: driver.execute_script("return window.reconnected"), seconds=15)
                check("after node A stops, the page reconnects to node B", moved == b.stream, moved)
                await publish(b, "room", {"n": 2})
                got = wait_for(lambda: len(received()) >= 2 and received())
                check("and gets the messages published after it moved", got and got[-1] == {"channel": "room", "event": "", "data": {"n": 2}}, got)
        finally:
            driver.quit()


async def classic_build_from_a_file():
    b = nodes[1]
    with tempfile.TemporaryDirectory() as directory:
        path = pathlib.Path(directory) / "page.html"
        path.write_text(f"""<!doctype html><meta charset="utf-8">
<script src="{b.http}/switchboard.global.js"></script>
<script>
  window.received = [];
  Switchboard.SwitchboardClient.connect("{b.stream}").then(async (client) => {{
    await client.subscribe("classic", (message) => window.received.push(message.data));
    await client.publish("classic", "from a file");
  }});
</script>""")
        driver = chrome()
        try:
            driver.get(path.as_uri())
            got = wait_for(lambda: driver.execute_script("return window.received"))
            check("a page opened as a file uses the classic build (the global Switchboard)", got == ["from a file"], got)
        finally:
            driver.quit()


async def token_in_the_browser():
    import jwt, time
    secret = "browser-test-secret-thirty-two-bytes"
    node = Node(BINARY, "--auth", "required", "--jwt-secret", secret, "--demo", "on", "--log-level", "warning")
    try:
        driver = chrome()
        try:
            driver.get(node.http + "/")
            why = wait_for(lambda: driver.execute_script("return document.body.dataset.error"))
            check("the demo page on a node that requires tokens says so and how to give one", why and "requires a token" in why and "?token=" in why, why)
            token = jwt.encode({"sub": "ann", "exp": int(time.time()) + 600}, secret, algorithm="HS256")
            driver.get(node.http + "/?token=" + token)
            check("with ?token= the demo page connects and subscribes", wait_for(lambda: driver.execute_script("return document.body.dataset.subscribed") == "demo"))
        finally:
            driver.quit()
        token = jwt.encode({"sub": "ann", "exp": int(time.time()) + 600}, secret, algorithm="HS256")
        with tempfile.TemporaryDirectory() as directory:
            (pathlib.Path(directory) / "index.html").write_text(f"""<!doctype html><meta charset="utf-8">
<script type="module">
  import {{ SwitchboardClient }} from "{node.http}/switchboard.js";
  try {{
    await SwitchboardClient.connect("{node.stream}", {{ reconnect: false }});
    window.anonymous = "connected";
  }} catch (error) {{ window.anonymous = "refused"; }}
  const client = await SwitchboardClient.connect("{node.stream}", {{ token: async () => "{token}" }});
  window.session = await client.call("session");
  window.who = await client.call("login", {{ token: "{token}" }});
</script>""")
            driver = chrome()
            try:
                with static_server(directory) as site:
                    driver.get(site + "/index.html")
                    who = wait_for(lambda: driver.execute_script("return window.who"))
                    check("without a token the module cannot connect to --auth required", driver.execute_script("return window.anonymous") == "refused")
                    check("with the token option it connects, as the token's user", who and who.get("user") == "ann", who)
            finally:
                driver.quit()
    finally:
        node.stop()


async def main_steps():
    nodes.append(Node(BINARY, "--redis", REDIS, "--demo", "on", "--log-level", "warning"))
    nodes.append(Node(BINARY, "--redis", REDIS, "--demo", "on", "--log-level", "warning"))


try:
    asyncio.run(run(main_steps, demo_page, classic_build_from_a_file, token_in_the_browser, module_across_nodes_with_reconnect))
finally:
    for node in nodes:
        node.stop()
