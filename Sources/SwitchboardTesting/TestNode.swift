public import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
public import SwitchboardRedis
public import Switchboard
public import SwitchboardServer

/// A node started in-process on a free loopback port, for tests of the node itself or of
/// applications' RPC methods.
///
/// ```swift
/// let node = try await TestNode.start()
/// let client = try await SwitchboardClient.connect(to: node.url)
/// ...
/// await node.stop()
/// ```
public final class TestNode: Sendable {
    /// The running node.
    public let node: SwitchboardNode
    /// `ws://127.0.0.1:PORT/stream`.
    public let url: String
    /// `http://127.0.0.1:PORT`.
    public let httpURL: String
    /// `ws://127.0.0.1:PORT/jsonrpc` (the configured JSON-RPC path).
    public var jsonRPCURL: String { "ws://127.0.0.1:\(port)\(node.configuration.paths.jsonRPC ?? "/jsonrpc")" }
    /// `ws://127.0.0.1:PORT/wsrpc` (the configured wsrpc path).
    public var wsrpcURL: String { "ws://127.0.0.1:\(port)\(node.configuration.paths.wsrpc ?? "/wsrpc")" }
    /// The port.
    public let port: Int
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    private init(node: SwitchboardNode, port: Int, group: ServiceGroup, task: Task<Void, any Error>) {
        self.node = node
        self.port = port
        self.url = "ws://127.0.0.1:\(port)\(node.configuration.paths.stream ?? "/stream")"
        self.httpURL = "http://127.0.0.1:\(port)"
        self.group = group
        self.task = task
    }

    /// A logger for tests, writing to the test log (`TestLog`): info and worse, unless
    /// `SWITCHBOARD_TEST_LOG_LEVEL` says otherwise.
    public static func logger(_ label: String = "switchboard.test") -> Logger {
        TestLog.bootstrap()
        var logger = Logger(label: label)
        logger.logLevel = Logger.Level(rawValue: Environment.value("SWITCHBOARD_TEST_LOG_LEVEL") ?? "") ?? .info
        return logger
    }

    /// The node's hub (its sockets, channels, presence, calls).
    public var hub: Hub { node.hub }

    /// Starts a node on `broker` (a new `LocalBroker` when `nil`) with `methods`.
    public static func start(
        broker: (any NodeBackend)? = nil,
        methods: RPCRouter = RPCRouter(),
        configuration: NodeConfiguration = NodeConfiguration(port: 0),
        metrics: NodeMetrics = NodeMetrics(),
        logger: Logger = TestNode.logger()
    ) async throws -> TestNode {
        var configuration = configuration
        configuration.host = "127.0.0.1"
        let broker = broker ?? LocalBroker(metrics: metrics.switchboard, eventLoop: MultiThreadedEventLoopGroup.singleton.next())
        let node = SwitchboardNode(configuration: configuration, broker: broker, methods: methods, metrics: metrics, logger: logger)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: try node.services(), logger: logger))
        let started = Mailbox<Result<Int, any Error>>()
        let task = Task {
            do {
                try await group.run()
                started.put(.failure(TestNodeError.didNotStart))
            } catch {
                started.put(.failure(error))
                throw error
            }
        }
        Task { started.put(.success(await node.waitUntilListening())) }
        guard let result = await started.take(timeout: .seconds(60)) else { throw TestNodeError.didNotStart }
        let port = try result.get()
        return TestNode(node: node, port: port, group: group, task: task)
    }

    /// Starts a node on Redis at `redisURL` (the broker settings can be adjusted).
    public static func start(
        redisURL: String,
        methods: RPCRouter = RPCRouter(),
        configuration: NodeConfiguration = NodeConfiguration(port: 0),
        logger: Logger = TestNode.logger(),
        adjust: (inout RedisBroker.Configuration) -> Void = { _ in }
    ) async throws -> TestNode {
        let metrics = NodeMetrics()
        var brokerConfiguration = RedisBroker.Configuration(url: try RedisURL(redisURL))
        adjust(&brokerConfiguration)
        let broker = RedisBroker(
            configuration: brokerConfiguration,
            metrics: metrics.switchboard,
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            logger: logger
        )
        return try await start(broker: broker, methods: methods, configuration: configuration, metrics: metrics, logger: logger)
    }

    /// Waits until the node reports ready (or `timeout` passes); returns whether it is.
    @discardableResult
    public func waitUntilReady(timeout: Duration = .seconds(10)) async -> Bool {
        await eventually(timeout: timeout) { node.isReady }
    }

    /// Shuts the node down gracefully (sockets get 1001) and waits until it stopped.
    public func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }
}

/// The node's services ended before it listened.
public enum TestNodeError: Error {
    case didNotStart
}

/// Polls `condition` every 10 ms until it holds or `timeout` passes; returns the last result.
public func eventually(timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return try await condition()
}
