public import Logging
public import NIOCore

/// What an RPC method knows about the request it serves.
///
/// A context is copied into every callback of a request: what all requests of a connection (as
/// one identity) share lives in one object, and the request's own parts in another that points
/// to it, so that a copy retains one reference, not a dozen.
public struct RPCContext: Sendable {
    /// The parts every request of one connection shares while its identity stays.
    final class Shared: Sendable {
        let socketID: SocketID
        let hub: Hub
        let eventLoop: any EventLoop
        let socketLogger: Logger
        let router: RPCRouter
        let identity: Identity
        let access: AccessPolicy
        let forwardedHeaders: [HTTPHeaderField]
        /// `true` when some channel's publish rule asks the backend (read once, not per publish).
        let publishesAskBackend: Bool

        init(
            socketID: SocketID, hub: Hub, eventLoop: any EventLoop, logger: Logger, router: RPCRouter, identity: Identity, access: AccessPolicy,
            forwardedHeaders: [HTTPHeaderField] = []
        ) {
            self.socketID = socketID
            self.hub = hub
            self.eventLoop = eventLoop
            self.socketLogger = logger
            self.router = router
            self.identity = identity
            self.access = access
            self.forwardedHeaders = forwardedHeaders
            self.publishesAskBackend = access.publishesAskBackend
        }
    }

    /// One request's parts, in one object: a copy of the context retains this one reference.
    final class Storage: Sendable {
        let shared: Shared
        let socket: RPCSocket
        let address: RPCReplyAddress
        let method: String

        init(shared: Shared, socket: RPCSocket, address: RPCReplyAddress, method: String) {
            self.shared = shared
            self.socket = socket
            self.address = address
            self.method = method
        }
    }

    let storage: Storage
    var shared: Shared { storage.shared }
    /// The socket that sent the request: its cluster-wide id, calls and messages to its client.
    public var socket: RPCSocket { storage.socket }
    /// What the reply echoes: the id's JSON text (`nil` for a notification) and the method.
    public var address: RPCReplyAddress { storage.address }
    /// The method name as sent.
    public var method: String { storage.method }

    /// The socket that sent the request (its number on this node).
    public var socketID: SocketID { shared.socketID }
    /// The node: its sockets and channels, publishing, history, presence, calls to sockets.
    public var hub: Hub { shared.hub }

    /// The node (the name this property had before `Hub`).
    @available(*, deprecated, renamed: "hub")
    public var manager: Hub { hub }

    /// This socket as the hub's `subscribe` takes it.
    public var subscriber: Hub.Subscriber {
        Hub.Subscriber(id: socketID, socket: socket, identity: identity, eventLoop: eventLoop, logger: logger)
    }
    /// The socket's event loop; futures returned by methods may complete anywhere.
    public var eventLoop: any EventLoop { shared.eventLoop }
    /// The socket's logger (the request's metadata is added by `logger`, only when used).
    public var socketLogger: Logger { shared.socketLogger }
    /// The methods this socket's protocol serves (for `get_methods`).
    public var router: RPCRouter { shared.router }
    /// Who is on the connection, as of this request.
    public var identity: Identity { shared.identity }
    /// Who may do what on this node.
    public var access: AccessPolicy { shared.access }
    /// The headers of the WebSocket upgrade the node forwards to the application's backend.
    public var forwardedHeaders: [HTTPHeaderField] { shared.forwardedHeaders }

    /// Who asks, as the application's backend is told (docs/proxy.md).
    public var proxyCaller: ProxyCaller {
        ProxyCaller(socket: socket.id, user: identity.userID, claims: identity.claims, protocolName: socket.protocolName, headers: forwardedHeaders)
    }

    /// The request id's JSON text as sent (`null` for a JSON-RPC notification).
    public var rawRequestID: ByteBuffer { address.rawID ?? ByteBuffer(staticString: "null") }

    /// The request id as sent.
    public var requestID: JSONValue { RawJSON(unchecked: rawRequestID).value }

    /// A logger carrying the socket id, the request id and the method.
    public var logger: Logger {
        var logger = socketLogger
        logger[metadataKey: "rpc.id"] = "\(String(buffer: rawRequestID))"
        logger[metadataKey: "rpc.method"] = "\(method)"
        return logger
    }

    public init(
        socketID: SocketID,
        socket: RPCSocket? = nil,
        hub: Hub,
        eventLoop: any EventLoop,
        logger: Logger,
        address: RPCReplyAddress,
        method: String,
        router: RPCRouter = RPCRouter(),
        identity: Identity = .anonymous,
        access: AccessPolicy = .open
    ) {
        self.init(
            shared: Shared(socketID: socketID, hub: hub, eventLoop: eventLoop, logger: logger, router: router, identity: identity, access: access),
            socket: socket ?? RPCSocket(id: "\(socketID)"),
            address: address,
            method: method
        )
    }

    /// A request's context on a connection's shared parts.
    init(shared: Shared, socket: RPCSocket, address: RPCReplyAddress, method: String) {
        storage = Storage(shared: shared, socket: socket, address: address, method: method)
    }

    /// Throws the protocol's refusal (and counts it) unless this connection may `action`
    /// `channel`.
    public func authorize(_ action: AccessPolicy.Action, _ channel: String) throws(RPCError) {
        // An open node is answered before the identity is passed: passing it copies the identity
        // (each of its references retained and released).
        guard shared.access.allowsEveryone || shared.access.allows(shared.identity, action, channel) else {
            hub.metrics.refusal(action == .subscribe ? .subscribe : .publish)
            logger.info("refused", metadata: ["action": "\(action.rawValue)", "channel": "\(channel.clippedForLog)", "user": "\((identity.userID ?? "anonymous").clippedForLog)"])
            throw RPCError.permissionDenied(action, reason: access.requirement(action, channel))
        }
    }

    /// The reply for a broker refusal of `channel`, with the reason (a name that breaks the
    /// rules, or a broker that cannot be reached), logged with the socket id. Other errors pass
    /// through.
    public func explain(_ error: any Error, channel: String) -> any Error {
        guard let refusal = error as? BrokerError else { return error }
        let reason: String
        if let problem = ChannelName.problem(channel) {
            reason = problem
        } else if !hub.isReady {
            reason = "the node's broker (\(hub.brokerName)) is unavailable; the node's /readyz says when it is back"
        } else {
            reason = "this node does not accept the channel"
        }
        logger.info("channel refused", metadata: ["channel": "\(channel.clippedForLog)", "reason": "\(reason)"])
        return RPCError.channelRefused(refusal, reason: reason)
    }

    /// A context for a request with a `/stream` id (`rawRequestID` is the id's JSON text).
    public init(
        socketID: SocketID,
        hub: Hub,
        eventLoop: any EventLoop,
        logger: Logger,
        rawRequestID: ByteBuffer,
        method: String
    ) {
        self.init(
            socketID: socketID,
            hub: hub,
            eventLoop: eventLoop,
            logger: logger,
            address: RPCReplyAddress(rawID: rawRequestID, method: method),
            method: method
        )
    }
}
