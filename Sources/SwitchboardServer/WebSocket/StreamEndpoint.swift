import Logging
import NIOCore
import Switchboard
import SwitchboardWebSocket
import Synchronization

/// What every `/stream` connection of a node shares: the sockets manager, the RPC router, the
/// settings, the compressors and the keepalive timers.
final class StreamEndpoint: Sendable {
    let manager: any SocketsManager
    let router: RPCRouter
    let configuration: StreamConfiguration
    let codecs: DeflateCodecs?
    let loops: LoopServicesRegistry
    let metrics: SwitchboardMetrics
    let connections = ConnectionTracker()
    let logger: Logger
    private let nextID = Atomic<UInt64>(0)

    init(
        manager: any SocketsManager,
        router: RPCRouter,
        configuration: StreamConfiguration,
        codecs: DeflateCodecs?,
        metrics: SwitchboardMetrics,
        logger: Logger
    ) {
        self.manager = manager
        self.router = router
        self.configuration = configuration
        self.codecs = codecs
        self.loops = LoopServicesRegistry(pingInterval: configuration.pingInterval)
        self.metrics = metrics
        self.logger = logger
    }

    func makeSocketID() -> SocketID {
        SocketID(rawValue: nextID.add(1, ordering: .relaxed).newValue)
    }
}
