import SwitchboardWebSocket
import UnixSignals
public import Logging
import Hummingbird
import HummingbirdCore
import NIOCore
public import ServiceLifecycle
public import Switchboard
import Synchronization

/// A Switchboard node: the WebSocket RPC routes `/stream`, `/jsonrpc` and `/wsrpc` (three
/// protocols over one set of methods and channels), `/healthz`, `/readyz`, `/metrics` and the
/// HTTP API, over one `Hub` on a broker (in-process or Redis).
///
/// ```swift
/// let metrics = NodeMetrics()
/// let broker = LocalBroker(metrics: metrics.switchboard, eventLoop: MultiThreadedEventLoopGroup.singleton.next())
/// var methods = RPCRouter()
/// methods.register("echo") { (payload: JSONObject, _) in .object(payload) }
/// let node = SwitchboardNode(configuration: .init(port: 8080), broker: broker, methods: methods, metrics: metrics)
/// try await node.run()  // until SIGTERM or SIGINT
/// ```
public final class SwitchboardNode: Sendable {
    /// The settings the node was made with.
    public let configuration: NodeConfiguration
    /// The node's sockets, channels, presence and calls, over its broker.
    public let hub: Hub
    /// The node's metrics.
    public let metrics: NodeMetrics
    let logger: Logger
    let router: RPCRouter
    /// The application's backend, when a proxy is configured.
    public let backend: HTTPBackendProxy?
    let startedAt = ContinuousClock.now
    private let sockets = Mutex<NodeSockets?>(nil)
    private let draining = Atomic(false)
    private let boundPort = Mutex<(port: Int?, waiters: [CheckedContinuation<Int, Never>])>((nil, []))

    /// Creates a node. `methods` are added to the built-in ones (`publish`, `subscribe`,
    /// `unsubscribe`, `info`, `server_info`).
    public init(
        configuration: NodeConfiguration,
        broker: any NodeBackend,
        methods: RPCRouter = RPCRouter(),
        metrics: NodeMetrics = NodeMetrics(),
        logger: Logger = Logger(label: "switchboard")
    ) {
        var configuration = configuration
        let backend = configuration.proxy.isEmpty
            ? nil
            : HTTPBackendProxy(configuration: configuration.proxy, eventLoopGroup: configuration.eventLoopGroup, metrics: metrics.switchboard, logger: logger)
        configuration.security.policy.backend = backend
        self.backend = backend
        self.configuration = configuration
        var hubLogger = logger
        hubLogger[metadataKey: "node"] = "\(broker.nodeID)"
        self.hub = Hub(backend: broker, metrics: metrics.switchboard, logger: hubLogger)
        self.metrics = metrics
        var logger = logger
        logger[metadataKey: "node"] = "\(broker.nodeID)"
        self.logger = logger
        let nodeID = broker.nodeID
        let startedAt = self.startedAt
        var router = RPCRouter.standard(nodeInfo: {
            let uptime = ContinuousClock.now - startedAt
            return ["id": .string(nodeID), "uptime_s": .number(JSONNumber(uptime.components.seconds))]
        })
        router.register("history", HistoryMethod(maxPageBytes: configuration.security.maxHistoryPageBytes))
        router.merge(methods)
        if let backend, configuration.proxy.rpc != nil { router.forwardUnknownMethods(to: backend) }
        self.router = router
    }

    /// `true` while the broker is ready and the node is not draining.
    public var isReady: Bool { hub.isReady && !isDraining }

    /// `true` once shutdown began.
    public var isDraining: Bool { draining.load(ordering: .relaxed) }

    /// The port the node listens on, once it does.
    public var port: Int? { boundPort.withLock { $0.port } }

    /// Waits until the node listens and returns its port.
    public func waitUntilListening() async -> Int {
        await withCheckedContinuation { continuation in
            let port: Int? = boundPort.withLock { state in
                if let port = state.port { return port }
                state.waiters.append(continuation)
                return nil
            }
            if let port { continuation.resume(returning: port) }
        }
    }

    private func listening(on port: Int) {
        let waiters = boundPort.withLock { state in
            state.port = port
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: port) }
    }

    /// The services that make up the node, in start order (broker, HTTP server, drain); a
    /// service group shuts them down in reverse: readiness fails and the drain period passes,
    /// then every socket gets 1001 and the server stops, then the broker closes.
    public func services() throws -> [ServiceGroupConfiguration.ServiceConfiguration] {
        let codecs = configuration.stream.compression ? DeflateCodecs() : nil
        hub.channels.use(encoder: WebSocketMessageEncoder(codecs: codecs))
        hub.channels.use(features: ChannelFeatureTable(rules: configuration.security.policy.channels, stateTopics: configuration.topics))
        let sockets = NodeSockets(
            hub: hub,
            configuration: configuration.stream,
            security: configuration.security,
            codecs: codecs,
            metrics: metrics.switchboard,
            logger: logger,
            backend: backend
        )
        self.sockets.withLock { $0 = sockets }
        let endpoints = Dictionary(endpoints(sharing: sockets).map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        let tls = try configuration.security.tls.map(TLSContextStore.init(files:))
        let security = configuration.security
        let application = Application(
            responder: JSONErrorResponder(
                wrapped: NodeRoutes(node: self).makeRouter().buildResponder(),
                webSocketPaths: configuration.paths.all,
                maxBodySize: configuration.stream.maxMessageSize,
                httpRoutes: NodeRoutes.routes(demo: configuration.demo)
            ),
            server: HTTPServerBuilder { responder in
                NodeServerChannel(responder: responder, endpoints: endpoints, node: sockets, security: security, tls: tls)
            },
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port),
                serverName: "switchboard"
            ),
            onServerRunning: { [self] channel in
                let port = channel.localAddress?.port ?? configuration.port
                logger.info("listening", metadata: [
                    "address": "\(configuration.host):\(port)", "broker": "\(hub.brokerName)",
                    "tls": "\(tls != nil)", "auth": "\(security.policy.mode.rawValue)",
                ])
                listening(on: port)
            },
            eventLoopGroupProvider: .shared(configuration.eventLoopGroup),
            logger: logger
        )
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let backend {
            // First in, last out: proxied requests of closing sockets still have their pool.
            services.append(.init(service: BackendService(backend: backend), serviceName: "backend"))
        }
        services += [
            .init(service: HubService(hub: hub, logger: logger), serviceName: "hub"),
            .init(service: application, serviceName: "http"),
            .init(
                service: DrainService(node: self),
                successTerminationBehavior: .gracefullyShutdownGroup,
                serviceName: "drain"
            ),
        ]
        if let tls {
            services.append(.init(service: CertificateReloadService(store: tls, logger: logger), serviceName: "tls-reload"))
        }
        return services
    }

    /// One endpoint per configured protocol, each with the node's methods and its own built-ins.
    private func endpoints(sharing sockets: NodeSockets) -> [RPCEndpoint] {
        var endpoints: [RPCEndpoint] = []
        if let path = configuration.paths.stream {
            endpoints.append(RPCEndpoint(path: path, codec: StreamCodec(), router: router, node: sockets))
        }
        if let path = configuration.paths.jsonRPC {
            let methods = router.merging(.jsonRPC(topics: configuration.topics))
            endpoints.append(RPCEndpoint(path: path, codec: JSONRPCCodec(), router: methods, node: sockets))
        }
        if let path = configuration.paths.wsrpc {
            endpoints.append(RPCEndpoint(path: path, codec: WSRPCCodec(), router: router, node: sockets))
        }
        return endpoints
    }

    /// Runs the node until SIGTERM or SIGINT, then drains and stops within the grace period.
    public func run() async throws {
        var group = ServiceGroupConfiguration(
            services: try services(),
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
        group.maximumGracefulShutdownDuration = configuration.shutdownGracePeriod
        try await ServiceGroup(configuration: group).run()
    }

    /// Marks the node as draining (readiness fails from now on).
    func beginDraining() {
        draining.store(true, ordering: .relaxed)
    }

    /// Sends 1001 (going away) to every socket and waits until their connections closed (each
    /// has `closeTimeout` to answer), so clients reconnect elsewhere before the server stops.
    func closeSockets() async {
        hub.closeSockets(code: 1001, reason: "going away")
        guard let sockets = sockets.withLock({ $0 }) else { return }
        let timeout = configuration.stream.closeTimeout
        await sockets.connections.waitUntilAllClosed(timeout: .nanoseconds(timeout.nanoseconds) + .milliseconds(500))
    }
}

/// Runs the hub (its broker, its queued work) until the group shuts down (after the HTTP
/// server); then closes the hub and its broker.
struct HubService: Service {
    let hub: Hub
    let logger: Logger

    func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await hub.run() }
            try? await gracefulShutdown()
            logger.info("closing the broker")
            await hub.close()
            group.cancelAll()  // a reconnection backoff or a connect in progress ends now
            await group.waitForAll()
        }
    }
}

/// Holds the backend's connection pool open until the group shuts down, then closes it.
struct BackendService: Service {
    let backend: HTTPBackendProxy

    func run() async throws {
        try? await gracefulShutdown()
        await backend.shutdown()
    }
}

/// On shutdown, fails readiness first and waits the drain period, so that load balancers stop
/// sending new clients before sockets are told to go away.
struct DrainService: Service {
    let node: SwitchboardNode

    func run() async throws {
        try? await gracefulShutdown()
        node.beginDraining()
        node.logger.info("draining", metadata: ["period": "\(node.configuration.drainPeriod)"])
        if node.configuration.drainPeriod > .zero {
            try? await Task.sleep(for: node.configuration.drainPeriod)
        }
        node.logger.info("closing sockets (1001 going away)", metadata: ["sockets": "\(node.hub.sockets.count)"])
        await node.closeSockets()
    }
}

/// Reloads the TLS certificate and key on SIGHUP: new connections get the new certificate, open
/// ones keep theirs.
struct CertificateReloadService: Service {
    let store: TLSContextStore
    let logger: Logger

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            do {
                try store.reload()
                logger.info("TLS certificate reloaded (SIGHUP)")
            } catch {
                logger.error("TLS certificate not reloaded: the old one stays", metadata: ["error": "\(error)"])
            }
        }
    }
}

