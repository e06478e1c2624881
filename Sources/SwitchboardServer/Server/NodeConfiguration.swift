public import NIOCore
public import NIOPosix

/// How a node serves: address, `/stream` settings and shutdown timing.
public struct NodeConfiguration: Sendable {
    /// Address to listen on.
    public var host: String
    /// Port to listen on (`0` picks a free one; see `SwitchboardNode.port`).
    public var port: Int
    /// Per-socket settings of `/stream`.
    public var stream: StreamConfiguration
    /// On SIGTERM, how long `/readyz` fails before sockets are told to go away (lets a load
    /// balancer stop routing here first).
    public var drainPeriod: Duration
    /// How long shutdown may take in all before the process stops waiting.
    public var shutdownGracePeriod: Duration
    /// This node's name in `info`, logs and metrics.
    public var nodeID: String
    /// The event loops serving sockets (and, when the broker was made with the same group, Redis).
    public var eventLoopGroup: any EventLoopGroup

    public init(
        host: String = "127.0.0.1",
        port: Int = 8080,
        stream: StreamConfiguration = StreamConfiguration(),
        drainPeriod: Duration = .zero,
        shutdownGracePeriod: Duration = .seconds(10),
        nodeID: String = NodeConfiguration.defaultNodeID(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.host = host
        self.port = port
        self.stream = stream
        self.drainPeriod = drainPeriod
        self.shutdownGracePeriod = shutdownGracePeriod
        self.nodeID = nodeID
        self.eventLoopGroup = eventLoopGroup
    }

    /// A short random id (the host name is often the same for every container of a deployment).
    public static func defaultNodeID() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        return "node-" + String((0..<8).map { _ in alphabet.randomElement()! })
    }
}
