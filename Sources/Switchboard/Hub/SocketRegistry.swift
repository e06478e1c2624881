import Synchronization

/// The sockets connected to this node.
public final class SocketRegistry: Sendable {
    private let sockets = Mutex<[SocketID: any SocketHandle]>([:])

    public init() {}

    /// Adds a connected socket.
    public func add(_ socket: any SocketHandle) {
        sockets.withLock { $0[socket.id] = socket }
    }

    /// Removes a socket; `true` if it was there.
    @discardableResult
    public func remove(_ id: SocketID) -> Bool {
        sockets.withLock { $0.removeValue(forKey: id) != nil }
    }

    /// Number of connected sockets.
    public var count: Int {
        sockets.withLock { $0.count }
    }

    /// A snapshot of the connected sockets.
    public var all: [any SocketHandle] {
        sockets.withLock { Array($0.values) }
    }

    /// The socket with this id, if connected.
    public func socket(_ id: SocketID) -> (any SocketHandle)? {
        sockets.withLock { $0[id] }
    }
}
