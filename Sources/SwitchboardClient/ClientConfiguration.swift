public import NIOSSL

/// The protocol a `SwitchboardClient` speaks.
public enum ClientProtocol: Sendable, Equatable {
    /// `/stream` (docs/protocol.md): event patterns, `{"channel", "event", "data"}` messages.
    case stream
    /// JSON-RPC 2.0 (`/jsonrpc`): topics (every event), messages as notifications.
    case jsonRPC

    /// The protocol a URL's path names: `…/jsonrpc` is JSON-RPC, anything else `/stream`.
    public init(url: String) {
        let path = url.split(separator: "?", maxSplits: 1).first ?? ""
        self = path.hasSuffix("/jsonrpc") ? .jsonRPC : .stream
    }
}

/// How a `SwitchboardClient` connects.
public struct ClientConfiguration: Sendable {
    /// The token to connect with (sent as `Authorization: Bearer`), when the node wants one.
    public var token: String?
    /// Gives a fresh token when the node asks for one (its token expired) and on reconnection;
    /// without it, a connection whose token expires is closed by the node (4001).
    public var tokenProvider: (@Sendable () async -> String?)?
    /// TLS settings for `wss://` URLs (trust roots, say); `nil`: the system's defaults.
    public var tls: TLSConfiguration?
    /// Offer per-message deflate (the server compresses large messages once for everyone).
    public var compression: Bool
    /// Seconds to wait for the TCP connection and the upgrade.
    public var connectTimeout: Duration
    /// Seconds to wait for a reply before `call` fails; `nil` waits as long as the connection lives.
    public var callTimeout: Duration?
    /// Reconnect after an unexpected close (for example a node going away with 1001), with
    /// capped exponential backoff, and subscribe again to every open subscription.
    public var reconnect: Bool
    /// Longest wait between reconnection attempts.
    public var maxReconnectDelay: Duration
    /// The protocol to speak; `nil` picks it from the URL's path (`…/jsonrpc`: JSON-RPC).
    public var wireProtocol: ClientProtocol?

    public init(
        compression: Bool = false,
        connectTimeout: Duration = .seconds(10),
        callTimeout: Duration? = .seconds(30),
        reconnect: Bool = false,
        maxReconnectDelay: Duration = .seconds(5),
        wireProtocol: ClientProtocol? = nil,
        token: String? = nil,
        tokenProvider: (@Sendable () async -> String?)? = nil,
        tls: TLSConfiguration? = nil
    ) {
        self.compression = compression
        self.connectTimeout = connectTimeout
        self.callTimeout = callTimeout
        self.reconnect = reconnect
        self.maxReconnectDelay = maxReconnectDelay
        self.wireProtocol = wireProtocol
        self.token = token
        self.tokenProvider = tokenProvider
        self.tls = tls
    }
}
