import Logging
import NIOCore
import NIOHTTP1
import Switchboard
import SwitchboardWebSocket
import Synchronization

/// What every WebSocket connection of a node shares, whatever its protocol: the hub,
/// the settings, the compressors, the keepalive timers, the connection count and socket numbers.
final class NodeSockets: Sendable {
    let hub: Hub
    let configuration: StreamConfiguration
    let security: SecurityConfiguration
    let codecs: DeflateCodecs?
    let loops: LoopServicesRegistry
    let metrics: SwitchboardMetrics
    let connections = ConnectionTracker()
    let logger: Logger
    /// The application's backend, when some proxy is configured (docs/proxy.md).
    let backend: HTTPBackendProxy?
    /// The upgrade headers the backend gets (lowercased).
    let forwardedHeaderNames: Set<String>
    private let nextID = Atomic<UInt64>(0)

    init(
        hub: Hub,
        configuration: StreamConfiguration,
        security: SecurityConfiguration,
        codecs: DeflateCodecs?,
        metrics: SwitchboardMetrics,
        logger: Logger,
        backend: HTTPBackendProxy? = nil
    ) {
        self.backend = backend
        self.forwardedHeaderNames = backend?.configuration.forwardedHeaderNames ?? []
        self.hub = hub
        self.configuration = configuration
        self.security = security
        self.codecs = codecs
        self.loops = LoopServicesRegistry(pingInterval: configuration.pingInterval)
        self.metrics = metrics
        self.logger = logger
    }

    /// Open WebSocket connections from `address`.
    func connections(from address: String) -> Int {
        connections.count(from: address)
    }

    /// The headers of an upgrade request that the backend gets, in the order they came.
    func forwardedHeaders(of headers: HTTPHeaders) -> [HTTPHeaderField] {
        guard !forwardedHeaderNames.isEmpty else { return [] }
        return headers.compactMap { name, value in
            forwardedHeaderNames.contains(name.lowercased()) ? HTTPHeaderField(name: name, value: value) : nil
        }
    }

    func makeSocketID() -> SocketID {
        SocketID(rawValue: nextID.add(1, ordering: .relaxed).newValue)
    }

    /// The socket's id in the cluster: `<node-id>.<n>`.
    func clusterName(of id: SocketID) -> String {
        NodeIdentity.socketName(node: hub.nodeID, socket: id)
    }
}

/// One WebSocket RPC route (`/stream`, `/jsonrpc`, `/wsrpc`): its path, its protocol's codec and
/// the methods it serves (the node's methods plus the protocol's built-ins).
final class RPCEndpoint: Sendable {
    let path: String
    let codec: any RPCCodec
    let router: RPCRouter
    let node: NodeSockets

    init(path: String, codec: any RPCCodec, router: RPCRouter, node: NodeSockets) {
        self.path = path
        self.codec = codec
        self.router = router
        self.node = node
    }

    var hub: Hub { node.hub }
    var configuration: StreamConfiguration { node.configuration }
    var codecs: DeflateCodecs? { node.codecs }
    var loops: LoopServicesRegistry { node.loops }
    var metrics: SwitchboardMetrics { node.metrics }
    var connections: ConnectionTracker { node.connections }
}
