public import NIOCore

/// The application's own backend, which the node asks about what it does not decide itself
/// (docs/proxy.md): RPC methods the node does not define, and subscribes and publishes on
/// channels whose rule says `proxy`. The node's implementation posts JSON over HTTP
/// (`SwitchboardServer`'s `HTTPBackendProxy`); tests may answer in-process.
///
/// Every answer comes within the proxy's timeout: a backend that is down, slow or answers
/// something that is not one of the documented shapes is an `RPCError` ("backend unavailable",
/// code -32603) that says why, never a hang.
public protocol BackendProxy: Sendable {
    /// `true` when calls of `method` (a name the node does not define) go to the backend.
    func forwards(method: String) -> Bool
    /// Forwards a call. Succeeds with the backend's `result`; fails with the backend's `error`
    /// as an `RPCError` (`RPCError.fromBackend` is `true`), or with why the backend could not
    /// answer. Completes on `eventLoop` (the socket's: a proxied call never leaves it).
    func call(_ request: ProxyCallRequest, on eventLoop: any EventLoop) -> EventLoopFuture<JSONValue>
    /// Asks whether a subscribe or publish may go ahead. Succeeds with the data to publish
    /// instead when the backend rewrote it (`nil`: as sent); fails with the refusal.
    func check(_ request: ProxyChannelRequest, on eventLoop: any EventLoop) -> EventLoopFuture<JSONValue?>
}

/// Who asks the backend: the socket, its user and token claims, its protocol, and the headers
/// of its WebSocket upgrade that the node is configured to forward.
public struct ProxyCaller: Sendable {
    /// The socket's id in the cluster (`<node>.<n>`), which `POST /call` and `/emit` take.
    public var socket: String
    /// The user, if the connection has one (from a token or the connect proxy).
    public var user: String?
    /// The token's claims as signed (`nil` without a token).
    public var claims: JSONObject?
    /// `stream`, `jsonrpc` or `wsrpc`.
    public var protocolName: String
    /// The forwarded upgrade headers, in the order they came.
    public var headers: [HTTPHeaderField]

    public init(socket: String, user: String?, claims: JSONObject?, protocolName: String, headers: [HTTPHeaderField]) {
        self.socket = socket
        self.user = user
        self.claims = claims
        self.protocolName = protocolName
        self.headers = headers
    }
}

/// One header of a request: its name as sent and its value.
public struct HTTPHeaderField: Sendable, Equatable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// An RPC call for the backend: `{"method", "params", "socket", "user", "claims", "protocol"}`.
public struct ProxyCallRequest: Sendable {
    /// The method name as the client sent it.
    public var method: String
    /// The parameters as the client sent them (`null` when none).
    public var params: JSONValue
    public var caller: ProxyCaller

    public init(method: String, params: JSONValue, caller: ProxyCaller) {
        self.method = method
        self.params = params
        self.caller = caller
    }

    /// The request's JSON body.
    public var body: JSONObject {
        [
            "method": .string(method),
            "params": params,
            "socket": .string(caller.socket),
            "user": caller.user.map(JSONValue.string) ?? .null,
            "claims": caller.claims.map(JSONValue.object) ?? .null,
            "protocol": .string(caller.protocolName),
        ]
    }
}

/// A subscribe or publish for the backend to allow: `{"channel", "socket", "user", "claims",
/// "protocol", "data" (publish only)}`.
public struct ProxyChannelRequest: Sendable {
    public var action: AccessPolicy.Action
    public var channel: String
    /// The data to publish (publish only).
    public var data: JSONValue?
    public var caller: ProxyCaller

    public init(action: AccessPolicy.Action, channel: String, data: JSONValue? = nil, caller: ProxyCaller) {
        self.action = action
        self.channel = channel
        self.data = data
        self.caller = caller
    }

    /// The request's JSON body.
    public var body: JSONObject {
        var body: JSONObject = [
            "channel": .string(channel),
            "socket": .string(caller.socket),
            "user": caller.user.map(JSONValue.string) ?? .null,
            "claims": caller.claims.map(JSONValue.object) ?? .null,
            "protocol": .string(caller.protocolName),
        ]
        if action == .publish { body["data"] = data ?? .null }
        return body
    }
}
