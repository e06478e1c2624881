public import NIOCore

/// The connection a request came on, as its method sees it: its cluster-wide id, calls to its
/// client (wsrpc and JSON-RPC clients have methods of their own), and messages to it.
///
/// ```swift
/// router.register("area") { (payload: JSONObject, context) in
///     let product = try await context.socket.call("multiply", params: ["x": 10, "y": 20])
///     return ["product": product]
/// }
/// ```
///
/// A method that calls its client leaves its socket's request order at that moment: requests
/// that came after it may run and be answered before it, so a client that calls the node again
/// while it answers cannot deadlock the two.
public struct RPCSocket: Sendable {
    /// The socket's id, unique in the cluster: `<node-id>.<n>`.
    public let id: String
    /// The socket's protocol (`stream`, `jsonrpc`, `wsrpc`), or `none` outside a connection.
    public let protocolName: String
    let link: RPCSessionLink?
    let request: UInt64?

    init(id: String, protocolName: String, link: RPCSessionLink, request: UInt64?) {
        self.id = id
        self.protocolName = protocolName
        self.link = link
        self.request = request
    }

    /// A socket with no connection behind it (tests, HTTP requests): calls to it fail.
    public init(id: String) {
        self.id = id
        self.protocolName = "none"
        self.link = nil
        self.request = nil
    }

    /// Calls `method` on the client and returns its result. Throws the client's error as an
    /// `RPCError`, or an `RPCError` when the client does not answer within `timeout`, the
    /// connection closes first, too many calls are in flight, or the protocol has no calls
    /// to the client (`/stream`).
    public func call(_ method: String, params: JSONValue = .object([:]), timeout: Duration = .seconds(10)) async throws -> JSONValue {
        guard let link else { throw RPCError.notConnected }
        let request = self.request
        let amount = TimeAmount(timeout)
        return try await link.eventLoop.flatSubmit {
            guard let session = link.session else { return link.eventLoop.makeFailedFuture(RPCError.connectionClosed) }
            return session.startCall(method, params: params, timeout: amount, from: request)
        }.get()
    }

    /// Sends the client a message that expects no answer: a JSON-RPC notification
    /// `{"method", "params"}`; on wsrpc and `/stream` an event `{"event": method, "data": params}`.
    public func notify(_ method: String, params: JSONValue = .null) {
        link?.withSession { $0.sendNotification(method: method, params: params) }
    }

    /// Sends the client an event object as it is (JSON-RPC: a notification named by its `event`).
    public func emit(_ event: JSONObject) {
        link?.withSession { $0.sendEvent(event) }
    }

    /// Sets who is on the connection (see `login`); the channels the new identity may not hold
    /// are left. Returns the channels left.
    @discardableResult
    public func setIdentity(_ identity: Identity) async throws -> [String] {
        guard let link else { throw RPCError.notConnected }
        return try await link.eventLoop.submit {
            guard let session = link.session else { throw RPCError.connectionClosed }
            return session.setIdentity(identity)
        }.get()
    }

    /// Sends the client one channel message in its protocol's format, outside the channel's
    /// own delivery (a topic's state on subscribe, say).
    public func send(channel: String, event: String?, rawData: ByteBuffer) {
        link?.withSession { $0.sendChannelMessage(channel: channel, event: event, rawData: rawData) }
    }
}

extension RPCError.Code {
    /// A call to a client got no answer in time.
    public static let clientTimeout = -32001
    /// The client's connection closed (or there is none) before it answered.
    public static let clientGone = -32002
    /// The client's protocol has no calls from the node (`/stream`).
    public static let clientCannotBeCalled = -32003
    /// Too many calls to one client are waiting for an answer.
    public static let tooManyClientCalls = -32004
}

extension RPCError {
    /// The socket closed before the client answered.
    public static let connectionClosed = RPCError(code: Code.clientGone, message: "the connection closed")
    /// There is no connection to call.
    public static let notConnected = RPCError(code: Code.clientGone, message: "no connection to call")
}

/// How requests reach their session from other threads: the session is only touched on its
/// event loop, and may be gone (the socket closed).
final class RPCSessionLink: @unchecked Sendable {
    let eventLoop: any EventLoop
    /// The socket's route-group instances.
    let groups = RouteGroupStore()
    /// Touched only on `eventLoop`. Held strongly until the session closes (`unbind`), not
    /// weakly: a weak reference gives the session a side table, which makes every reference
    /// count of it (several per request) take the runtime's slow path. The transport closes
    /// every session when its socket goes.
    private var _session: RPCSession?

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// The session (call on `eventLoop`).
    var session: RPCSession? {
        eventLoop.assertInEventLoop()
        return _session
    }

    /// Binds the session, before the link is shared with any other thread.
    func bind(_ session: RPCSession) {
        _session = session
    }

    /// Lets the closed session go: requests that still hold the link find no session.
    func unbind() {
        _session = nil
    }

    /// Runs `body` with the session on its loop (at once when already there).
    func withSession(_ body: @escaping @Sendable (RPCSession) -> Void) {
        if eventLoop.inEventLoop {
            if let session { body(session) }
        } else {
            eventLoop.execute {
                if let session = self.session { body(session) }
            }
        }
    }
}
