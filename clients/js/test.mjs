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

// History (the test node keeps history for hist:*): messages carry offset and epoch; a client
// that comes back with its last position gets exactly what it missed, in order.
const history = `hist:js${Date.now()}`;
const first = await SwitchboardClient.connect(url, { reconnect: false });
const seen = [];
let resolveThree;
const three = new Promise((resolve) => { resolveThree = resolve; });
await first.subscribe(history, (m) => { seen.push(m); if (seen.length === 3) resolveThree(); });
for (const n of [1, 2, 3]) await publisher.publish(history, { n });
await three;
assert.ok(seen.every((m) => typeof m.offset === "string" && typeof m.epoch === "string"));
const position = first.positionOf(history);
assert.deepEqual(position, { offset: seen[2].offset, epoch: seen[2].epoch });
first.close();
for (const n of [4, 5, 6]) await publisher.publish(history, { n });
const second = await SwitchboardClient.connect(url, { reconnect: false });
const recovered = [];
let resolveRecovered;
const allBack = new Promise((resolve) => { resolveRecovered = resolve; });
await second.subscribe(history, (m) => { recovered.push(m.data.n); if (recovered.length === 4) resolveRecovered(); }, { since: position });
await publisher.publish(history, { n: 7 });
await allBack;
assert.deepEqual(recovered, [4, 5, 6, 7]);
second.close();
publisher.close();
console.log("js client: ok");
