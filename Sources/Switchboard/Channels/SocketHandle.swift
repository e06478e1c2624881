public import NIOCore

/// Identifies one connected socket on a node.
public struct SocketID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The number, unique for the life of the process.
    public let rawValue: UInt64

    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    public static func < (lhs: SocketID, rhs: SocketID) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { "ws-\(rawValue)" }
}

/// A connected socket as the channel registry and the socket registry see it.
///
/// The registry groups sockets by `eventLoop` and calls `enqueue` on that loop for a whole
/// group at once: one hop per loop, never one task per socket.
public protocol SocketHandle: AnyObject, Sendable {
    /// The socket's identity.
    var id: SocketID { get }
    /// The event loop that owns the socket; `enqueue` and `flush` are called on it.
    var eventLoop: any EventLoop { get }
    /// `true` when the socket takes the compressed variant of shared frames.
    var acceptsDeflatedFrames: Bool { get }
    /// How the socket's protocol receives channel messages (`.stream` by default).
    var messageFormat: ChannelMessageFormat { get }
    /// The socket's RPC side, for calls and events from anywhere (`nil` by default: the socket
    /// takes channel messages only).
    var rpc: RPCSocket? { get }
    /// Queues one outgoing message (called on `eventLoop`) and sees that it is sent soon (the
    /// WebSocket transport flushes each socket once per event-loop tick). Must never block or wait.
    func enqueue(_ message: OutboundMessage)
    /// Closes the socket with a WebSocket close code (callable from any thread).
    func close(code: UInt16, reason: String)
    /// Starts holding back the messages of history channel `channel` (called on `eventLoop`),
    /// while the node sends the socket what it missed.
    func hold(channel: String)
    /// Sends the held messages of `channel` whose offset is after `offset` (all when `nil`),
    /// drops the others, and stops holding (called on `eventLoop`).
    func release(channel: String, after offset: StreamOffset?)
}

extension SocketHandle {
    public var messageFormat: ChannelMessageFormat { .stream }
    public var rpc: RPCSocket? { nil }
    /// Sockets that cannot hold messages get them as they come.
    public func hold(channel: String) {}
    public func release(channel: String, after offset: StreamOffset?) {}
}
