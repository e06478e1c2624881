// Generated from switchboard.js by scripts/generate-js.sh: edit switchboard.js, then run it.
// A classic script: <script src=".../switchboard.global.js"></script> defines `Switchboard`.
(function (global) {
"use strict";
// Switchboard client for browsers (and Node.js 22+, or 20 with --experimental-websocket).
//
//   import { SwitchboardClient } from "./switchboard.js";        // or /switchboard.js from a node
//   const client = await SwitchboardClient.connect("ws://127.0.0.1:8080/stream");
//   await client.subscribe("news", "created*", (message) => console.log(message.data));
//   await client.publish("news", { id: 1 }, "created");
//
// A classic <script src="/switchboard.global.js"> defines the same names on `Switchboard`.
// Replies are matched to calls by id. With `reconnect: true` (the default) the client reconnects
// with capped exponential backoff after a node goes away (close 1001) and subscribes again; given
// several URLs, it moves on to the next one each time (nodes without a load balancer in front).
// With `token` (a string, or a function that returns one, possibly async) the client connects
// with it (as a WebSocket subprotocol: browsers cannot set headers) and, when the node says the
// token expired, logs in again with a fresh one from the function. On channels with history the
// client keeps the last `{offset, epoch}` it saw and, after a reconnection, subscribes `since` it:
// what was published meanwhile arrives first, once, in order (`positionOf(channel)` gives it).

/** The server answered a call with an error: `message` and, for validation errors, `errors`. */
class SwitchboardError extends Error {
  constructor(method, error) {
    super(`${method} failed: ${error.message}` + (error.errors ? ` ${JSON.stringify(error.errors)}` : ""));
    this.name = "SwitchboardError";
    this.method = method;
    this.serverMessage = error.message;
    this.errors = error.errors || null;
  }
}

/** Compares two history offsets (`<ms>-<seq>`, as numbers): negative, zero or positive. */
function compareOffsets(a, b) {
  const [am, as = "0"] = a.split("-");
  const [bm, bs = "0"] = b.split("-");
  const major = BigInt(am) - BigInt(bm);
  if (major !== 0n) return major < 0n ? -1 : 1;
  const minor = BigInt(as) - BigInt(bs);
  return minor === 0n ? 0 : minor < 0n ? -1 : 1;
}

/** Redis-style glob matching of a whole event name (`*`, `?`, `[abc]`, `[^a]`, `[a-z]`, `\x`). */
function globMatches(pattern, event) {
  const p = Array.from(pattern);
  const s = Array.from(event);
  const tokens = [];
  for (let i = 0; i < p.length; ) {
    const c = p[i];
    if (c === "*") { if (tokens.at(-1)?.type !== "star") tokens.push({ type: "star" }); i++; }
    else if (c === "?") { tokens.push({ type: "any" }); i++; }
    else if (c === "\\") { tokens.push({ type: "lit", c: i + 1 < p.length ? p[i + 1] : "\\" }); i += i + 1 < p.length ? 2 : 1; }
    else if (c === "[") {
      let j = i + 1, negated = false, items = [], closed = false;
      if (p[j] === "^") { negated = true; j++; }
      while (j < p.length) {
        let ch = p[j];
        if (ch === "]") { closed = true; j++; break; }
        if (ch === "\\" && j + 1 < p.length) ch = p[++j];
        if (j + 2 < p.length && p[j + 1] === "-" && p[j + 2] !== "]") {
          let end = p[j + 2], next = j + 3;
          if (end === "\\" && j + 3 < p.length) { end = p[j + 3]; next = j + 4; }
          const [lo, hi] = [ch.codePointAt(0), end.codePointAt(0)].sort((a, b) => a - b);
          items.push([lo, hi]); j = next;
        } else { items.push([ch.codePointAt(0), ch.codePointAt(0)]); j++; }
      }
      if (closed) { tokens.push({ type: "set", negated, items }); i = j; }
      else { tokens.push({ type: "lit", c: "[" }); i++; }
    } else { tokens.push({ type: "lit", c }); i++; }
  }
  const one = (t, ch) => t.type === "any" || (t.type === "lit" && t.c === ch) ||
    (t.type === "set" && t.items.some(([lo, hi]) => ch.codePointAt(0) >= lo && ch.codePointAt(0) <= hi) !== t.negated);
  let pi = 0, si = 0, starP = -1, starS = 0;
  while (si < s.length) {
    if (pi < tokens.length && tokens[pi].type === "star") { starP = pi++; starS = si; continue; }
    if (pi < tokens.length && one(tokens[pi], s[si])) { pi++; si++; continue; }
    if (starP < 0) return false;
    pi = starP + 1; si = ++starS;
  }
  while (pi < tokens.length && tokens[pi].type === "star") pi++;
  return pi === tokens.length;
}

class SwitchboardClient {
  /** Connects to a node's `/stream` URL (or the first of several that answers). */
  static async connect(url, options = {}) {
    const client = new SwitchboardClient(url, options);
    await client.#openAny();
    return client;
  }

  #urls; #index = 0; #options; #socket = null; #nextId = 0; #pending = new Map();
  #subscriptions = new Map(); // key "channel\u0000pattern" -> {channel, pattern, handlers:Set}
  #positions = new Map(); // channel -> {offset, epoch} of the last message seen
  #closing = false; #delay = 100;

  constructor(url, options = {}) {
    this.#urls = Array.isArray(url) ? [...url] : [url];
    if (!this.#urls.length) throw new Error("no URL to connect to");
    this.#options = { reconnect: true, maxReconnectDelay: 5000, WebSocket: globalThis.WebSocket, ...options };
    /** Called with `{code, reason}` when the connection closes for good. */
    this.onclose = null;
    /** Called with `{url}` after each reconnection (subscriptions restored). */
    this.onreconnect = null;
  }

  /** The URL of the current (or last) connection. */
  get url() { return this.#urls[this.#index]; }

  /** `true` while connected. */
  get connected() { return this.#socket !== null; }

  /** Tries each URL once, starting with the current one. */
  async #openAny() {
    let last;
    for (let tries = 0; tries < this.#urls.length; tries++) {
      try { return await this.#open(); } catch (error) { last = error; this.#index = (this.#index + 1) % this.#urls.length; }
    }
    throw last;
  }

  async #token() {
    const { token } = this.#options;
    return typeof token === "function" ? await token() : token;
  }

  async #open() {
    const url = this.url;
    const token = await this.#token();
    return new Promise((resolve, reject) => {
      const socket = token ? new this.#options.WebSocket(url, ["switchboard", token]) : new this.#options.WebSocket(url);
      socket.onopen = () => { this.#socket = socket; this.#delay = 100; resolve(); };
      socket.onerror = () => { if (this.#socket !== socket) reject(new Error(`cannot connect to ${url}`)); };
      socket.onmessage = (event) => this.#received(event.data);
      socket.onclose = (event) => { if (this.#socket === socket) this.#closed(event.code, event.reason); };
    });
  }

  #received(text) {
    let message;
    try { message = JSON.parse(text); } catch { return; }
    if (message && message.event === "refresh" && !("channel" in message) && !("id" in message)) {
      // The token expired: log in again with a fresh one, or the node closes the socket (4001).
      this.#token().then((token) => token && this.call("login", { token })).catch(() => {});
      return;
    }
    if (message && typeof message === "object" && !("response" in message) && !("error" in message) && "channel" in message) {
      if (typeof message.offset === "string" && typeof message.epoch === "string") {
        const last = this.#positions.get(message.channel);
        if (last && last.epoch === message.epoch && compareOffsets(message.offset, last.offset) <= 0) return; // seen already
        this.#positions.set(message.channel, { offset: message.offset, epoch: message.epoch });
      }
      for (const sub of this.#subscriptions.values()) {
        if (sub.channel === message.channel && globMatches(sub.pattern, message.event ?? "")) {
          for (const handler of sub.handlers) handler(message);
        }
      }
      return;
    }
    const pending = this.#pending.get(message?.id);
    if (!pending) return;
    this.#pending.delete(message.id);
    if (message.error) pending.reject(new SwitchboardError(pending.method, message.error));
    else pending.resolve(message.response);
  }

  async #closed(code, reason) {
    this.#socket = null;
    for (const pending of this.#pending.values()) pending.reject(new Error(`connection closed (${code})`));
    this.#pending.clear();
    if (this.#closing || !this.#options.reconnect) { this.onclose?.({ code, reason }); return; }
    // The node went away: move on to the next URL (the same one when there is only one).
    this.#index = (this.#index + 1) % this.#urls.length;
    while (!this.#closing) {
      await new Promise((r) => setTimeout(r, this.#delay * (0.5 + Math.random() / 2)));
      this.#delay = Math.min(this.#delay * 2, this.#options.maxReconnectDelay);
      try {
        await this.#openAny();
        const recovering = new Map(this.#positions);
        for (const sub of this.#subscriptions.values()) {
          const since = recovering.get(sub.channel);
          recovering.delete(sub.channel);
          await this.call("subscribe", since ? { channel: sub.channel, event: sub.pattern, since } : { channel: sub.channel, event: sub.pattern });
        }
        this.onreconnect?.({ url: this.url });
        return;
      } catch { /* try again */ }
    }
  }

  /** Calls `method`; resolves with its response or rejects with `SwitchboardError`. */
  call(method, payload = {}) {
    if (!this.#socket) return Promise.reject(new Error("not connected"));
    const id = `c${++this.#nextId}`;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { method, resolve, reject });
      this.#socket.send(JSON.stringify({ id, method, payload }));
    });
  }

  /** Publishes `data` (string, array, object or null) on `channel`. */
  publish(channel, data, event) {
    return this.call("publish", event === undefined ? { channel, data } : { channel, data, event });
  }

  /** The `{offset, epoch}` of the last message seen on a history channel, or `undefined`. */
  positionOf(channel) { return this.#positions.get(channel); }

  /**
   * Subscribes `handler` to `channel` (events matching the glob `event`, default `*`). With
   * `options.since` (`{offset, epoch}` from an earlier message) on a history channel, the
   * messages published after it come first; the reply says `recovered` and, if not, `reason`.
   */
  async subscribe(channel, event, handler, options = {}) {
    if (typeof event === "function") { options = handler || {}; handler = event; event = undefined; }
    const pattern = event || "*";
    if (options.since) this.#positions.set(channel, options.since);
    const key = `${channel}\u0000${pattern}`;
    let sub = this.#subscriptions.get(key);
    if (!sub) { sub = { channel, pattern, handlers: new Set() }; this.#subscriptions.set(key, sub); }
    sub.handlers.add(handler);
    try {
      const payload = options.since ? { channel, event: pattern, since: options.since } : { channel, event: pattern };
      return (await this.call("subscribe", payload)).subscribed;
    } catch (error) {
      sub.handlers.delete(handler);
      if (!sub.handlers.size) this.#subscriptions.delete(key);
      throw error;
    }
  }

  /** Removes one pattern of `channel` (default `*`) and its handlers. */
  async unsubscribe(channel, event) {
    const pattern = event || "*";
    this.#subscriptions.delete(`${channel}\u0000${pattern}`);
    return (await this.call("unsubscribe", { channel, event: pattern })).subscribed;
  }

  /** Closes the connection (code 1000); no reconnection. */
  close() {
    this.#closing = true;
    this.#socket?.close(1000);
  }
}

global.Switchboard = { SwitchboardError, compareOffsets, globMatches, SwitchboardClient };
})(typeof globalThis !== "undefined" ? globalThis : this);
