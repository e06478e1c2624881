public import Logging
public import NIOCore

/// What an RPC method knows about the request it serves.
public struct RPCContext: Sendable {
    /// The socket that sent the request.
    public let socketID: SocketID
    /// The node's sockets manager (broker, channels, sockets).
    public let manager: any SocketsManager
    /// The socket's event loop; futures returned by methods may complete anywhere.
    public let eventLoop: any EventLoop
    /// The socket's logger (the request's metadata is added by `logger`, only when used).
    public let socketLogger: Logger
    /// The request id's JSON text as sent.
    public let rawRequestID: ByteBuffer
    /// The method name as sent.
    public let method: String

    /// The request id as sent (a string or `null`).
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
        manager: any SocketsManager,
        eventLoop: any EventLoop,
        logger: Logger,
        rawRequestID: ByteBuffer,
        method: String
    ) {
        self.socketID = socketID
        self.manager = manager
        self.eventLoop = eventLoop
        self.socketLogger = logger
        self.rawRequestID = rawRequestID
        self.method = method
    }
}
