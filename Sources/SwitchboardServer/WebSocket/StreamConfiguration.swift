import NIOCore

/// Per-socket settings of the `/stream` route.
public struct StreamConfiguration: Sendable {
    /// Largest incoming message (after reassembly and decompression); larger closes with 1009.
    public var maxMessageSize: Int
    /// Outgoing bytes a socket may have waiting while it does not read; past it the socket is
    /// closed with 1008 "slow consumer". One message is always accepted into an empty queue.
    public var maxOutboundBytes: Int
    /// Interval of the keepalive pass (one timer per event loop): idle sockets get a ping, and
    /// sockets that answered nothing since the previous ping are dropped. `nil` disables it.
    public var pingInterval: TimeAmount?
    /// How long to wait for the client's close frame after sending ours.
    public var closeTimeout: TimeAmount
    /// Requests one socket may have pending before the node stops reading from it.
    public var maxPendingRequests: Int
    /// Offer per-message deflate to clients that ask for it.
    public var compression: Bool
    /// How long a client whose token expired has to send a new one (it is asked at the first
    /// keepalive pass after the expiry; it is closed with 4001 at the first pass after this).
    public var refreshGrace: TimeAmount

    public init(
        maxMessageSize: Int = 4 * 1024 * 1024,
        maxOutboundBytes: Int = 1024 * 1024,
        pingInterval: TimeAmount? = .seconds(30),
        closeTimeout: TimeAmount = .seconds(3),
        maxPendingRequests: Int = 512,
        compression: Bool = true,
        refreshGrace: TimeAmount = .seconds(10)
    ) {
        self.maxMessageSize = maxMessageSize
        self.maxOutboundBytes = maxOutboundBytes
        self.pingInterval = pingInterval
        self.closeTimeout = closeTimeout
        self.maxPendingRequests = maxPendingRequests
        self.compression = compression
        self.refreshGrace = refreshGrace
    }
}
