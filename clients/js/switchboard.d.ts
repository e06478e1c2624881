// Type declarations for switchboard.js (the Switchboard browser client).

/** A message delivered on a channel. */
export interface ChannelMessage<Data = unknown> {
  channel: string;
  /** The event it was published with ("" when none). */
  event: string;
  data: Data;
  /** On channels with history: the message's offset in it. */
  offset?: string;
  /** On channels with history: the history's epoch (a new one means older offsets are void). */
  epoch?: string;
}

/** Where a client stands in a channel's history. */
export interface StreamPosition {
  offset: string;
  epoch: string;
}

/** Options of `subscribe`. */
export interface SubscribeOptions {
  /** On a channel with history: first deliver what was published after this position. */
  since?: StreamPosition;
}

/** The `subscribed` map: every channel and event pattern the socket holds. */
export type Subscriptions = Record<string, string[]>;

export interface ClientOptions {
  /** Reconnect (and subscribe again) after the connection is lost. Default true. */
  reconnect?: boolean;
  /** Longest wait between reconnection attempts, in milliseconds. Default 5000. */
  maxReconnectDelay?: number;
  /** The WebSocket class to use (default: globalThis.WebSocket). */
  WebSocket?: typeof WebSocket;
  /**
   * A token to connect with (sent as a WebSocket subprotocol), or a function that returns one;
   * a function is asked again when the node says the token expired, and on reconnection.
   */
  token?: string | (() => string | Promise<string>);
}

/** The server answered a call with an error. */
export class SwitchboardError extends Error {
  readonly method: string;
  /** The server's `error.message`. */
  readonly serverMessage: string;
  /** Field → problem, for validation errors. */
  readonly errors: Record<string, string> | null;
}

/** Compares two history offsets: negative, zero or positive. */
export function compareOffsets(a: string, b: string): number;

/** Redis-style glob matching of a whole event name (`*`, `?`, `[abc]`, `[^a]`, `[a-z]`, `\x`). */
export function globMatches(pattern: string, event: string): boolean;

export class SwitchboardClient {
  /** Connects to a node's `/stream` URL, or to the first of several URLs that answers. */
  static connect(url: string | string[], options?: ClientOptions): Promise<SwitchboardClient>;
  constructor(url: string | string[], options?: ClientOptions);

  /** The URL of the current (or last) connection. */
  readonly url: string;
  /** True while connected. */
  readonly connected: boolean;
  /** Called when the connection closes for good (no reconnection). */
  onclose: ((event: { code: number; reason: string }) => void) | null;
  /** Called after each reconnection, once every subscription is restored. */
  onreconnect: ((event: { url: string }) => void) | null;

  /** Calls `method`; resolves with its response, rejects with SwitchboardError. */
  call<Response = unknown>(method: string, payload?: Record<string, unknown>): Promise<Response>;
  /** Publishes data (a string, array, object or null) on `channel`. */
  publish<Data = unknown>(channel: string, data: Data, event?: string): Promise<{ channel: string; event: string | null; data: Data }>;
  /** Subscribes `handler` to `channel`, for events matching the glob `event` (default "*"). */
  subscribe<Data = unknown>(channel: string, handler: (message: ChannelMessage<Data>) => void, options?: SubscribeOptions): Promise<Subscriptions>;
  subscribe<Data = unknown>(channel: string, event: string | undefined, handler: (message: ChannelMessage<Data>) => void, options?: SubscribeOptions): Promise<Subscriptions>;
  /** The position of the last message seen on a history channel (what a reconnection recovers from). */
  positionOf(channel: string): StreamPosition | undefined;
  /** Removes one pattern of `channel` (default "*") and its handlers. */
  unsubscribe(channel: string, event?: string): Promise<Subscriptions>;
  /** Closes the connection (code 1000); no reconnection. */
  close(): void;
}
