public import NIOCore
public import NIOPosix
public import Switchboard

/// The paths of the WebSocket RPC routes; `nil` turns a protocol off.
public struct RPCPaths: Sendable, Equatable {
    /// aio-openapi's protocol (docs/protocol.md). Default `/stream`.
    public var stream: String?
    /// JSON-RPC 2.0 as aiohttp-json-rpc speaks it. Default `/jsonrpc`.
    public var jsonRPC: String?
    /// wsrpc as wsrpc-aiohttp speaks it. Default `/wsrpc`.
    public var wsrpc: String?

    public init(stream: String? = "/stream", jsonRPC: String? = "/jsonrpc", wsrpc: String? = "/wsrpc") {
        self.stream = stream
        self.jsonRPC = jsonRPC
        self.wsrpc = wsrpc
    }

    /// Every path served, in the order stream, JSON-RPC, wsrpc.
    public var all: [String] { [stream, jsonRPC, wsrpc].compactMap { $0 } }
}

/// How a node serves: address, routes, socket settings and shutdown timing.
public struct NodeConfiguration: Sendable {
    /// Address to listen on.
    public var host: String
    /// Port to listen on (`0` picks a free one; see `SwitchboardNode.port`).
    public var port: Int
    /// Per-socket settings of every WebSocket route.
    public var stream: StreamConfiguration
    /// The WebSocket RPC routes.
    public var paths: RPCPaths
    /// The topics JSON-RPC clients may subscribe to (empty: every channel).
    public var topics: TopicCatalog
    /// Serve the demo page (a live channel view) at `GET /`.
    public var demo: Bool
    /// Tokens, channel rules, API keys, origins, limits and TLS.
    public var security: SecurityConfiguration
    /// On SIGTERM, how long `/readyz` fails before sockets are told to go away (lets a load
    /// balancer stop routing here first).
    public var drainPeriod: Duration
    /// How long shutdown may take in all before the process stops waiting.
    public var shutdownGracePeriod: Duration
    /// The application's backend: connect, RPC, subscribe and publish proxies (docs/proxy.md).
    public var proxy: ProxyConfiguration
    /// The event loops serving sockets (and, when the broker was made with the same group, Redis).
    public var eventLoopGroup: any EventLoopGroup

    public init(
        host: String = "127.0.0.1",
        port: Int = 8080,
        stream: StreamConfiguration = StreamConfiguration(),
        paths: RPCPaths = RPCPaths(),
        topics: TopicCatalog = TopicCatalog(),
        demo: Bool = false,
        security: SecurityConfiguration = SecurityConfiguration(),
        drainPeriod: Duration = .zero,
        shutdownGracePeriod: Duration = .seconds(10),
        proxy: ProxyConfiguration = ProxyConfiguration(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.host = host
        self.port = port
        self.stream = stream
        self.paths = paths
        self.topics = topics
        self.demo = demo
        self.security = security
        self.drainPeriod = drainPeriod
        self.shutdownGracePeriod = shutdownGracePeriod
        self.proxy = proxy
        self.eventLoopGroup = eventLoopGroup
    }
}
