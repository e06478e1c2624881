// Drives a running node with the browser module: node --experimental-websocket test.mjs WS_URL
import assert from "node:assert/strict";
import { SwitchboardClient, SwitchboardError, globMatches } from "./switchboard.js";

const url = process.argv[2] ?? "ws://127.0.0.1:8080/stream";
for (const [pattern, yes, no] of [
  ["h?llo", ["hello", "h☃llo"], ["hllo", "hallox"]],
  ["h[ae]llo", ["hello", "hallo"], ["hillo"]],
  ["h[^e]llo", ["hallo"], ["hello"]],
  ["user:*", ["user:", "user:1"], ["user"]],
  ["[", ["["], ["a"]],
  ["a\\*", ["a*"], ["ab"]],
]) {
  for (const event of yes) assert.ok(globMatches(pattern, event), `${pattern} ~ ${event}`);
  for (const event of no) assert.ok(!globMatches(pattern, event), `${pattern} !~ ${event}`);
}

const subscriber = await SwitchboardClient.connect(url);
const publisher = await SwitchboardClient.connect(url);
const channel = `js${Date.now()}`;
const got = [];
let resolveArrived;
const arrived = new Promise((resolve) => { resolveArrived = resolve; });
await subscriber.subscribe(channel, "created*", (m) => { got.push(m); resolveArrived(); });
assert.deepEqual(await publisher.publish(channel, { n: 1 }, "other"), { channel, event: "other", data: { n: 1 } });
await publisher.publish(channel, { n: 2 }, "created");
await arrived;
assert.deepEqual(got, [{ channel, event: "created", data: { n: 2 } }]);
await assert.rejects(publisher.publish("bad channel", "x"), (e) => e instanceof SwitchboardError && e.errors.channel === "Cannot publish to channel");
assert.equal((await publisher.call("info")).connections >= 2, true);
subscriber.close();
publisher.close();
console.log("js client: ok");
