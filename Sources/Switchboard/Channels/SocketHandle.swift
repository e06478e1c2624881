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
/// The registry groups sockets by `eventLoop` and calls `enqueue` then `flush` on that loop,
/// once per message for a whole group: one hop per loop, never one task per socket.
public protocol SocketHandle: AnyObject, Sendable {
    /// The socket's identity.
    var id: SocketID { get }
    /// The event loop that owns the socket; `enqueue` and `flush` are called on it.
    var eventLoop: any EventLoop { get }
    /// `true` when the socket takes the compressed variant of shared frames.
    var acceptsDeflatedFrames: Bool { get }
    /// Queues one outgoing message (called on `eventLoop`). Must never block or wait.
    func enqueue(_ message: OutboundMessage)
    /// Sends what `enqueue` queued (called on `eventLoop`).
    func flush()
    /// Closes the socket with a WebSocket close code (callable from any thread).
    func close(code: UInt16, reason: String)
}
