public import CoreMetrics

/// The counters a node keeps (swift-metrics types, made by the factory given: Prometheus in the
/// server, a no-op by default).
public struct SwitchboardMetrics: Sendable {
    /// Kinds of RPC error, for the `kind` dimension of `rpcErrors`.
    public enum RPCErrorKind: String, Sendable, CaseIterable {
        case notJSON = "not_json"
        case malformed
        case validation
        case unknownMethod = "unknown_method"
        case broker
        case `internal`
        case binary
    }

    /// Sockets connected now.
    public let connections: Meter
    /// Sockets opened since start.
    public let connectionsOpened: Counter
    /// Channels with local subscribers (set at scrape time).
    public let channels: Gauge
    /// Socket subscriptions (socket, channel, pattern) (set at scrape time).
    public let subscriptions: Gauge
    /// Messages published through this node.
    public let messagesPublished: Counter
    /// Messages received from the broker.
    public let messagesReceived: Counter
    /// Message copies handed to local sockets.
    public let messagesDelivered: Counter
    /// Broker messages dropped as malformed.
    public let messagesDropped: Counter
    /// Sockets closed for not reading (1008 "slow consumer").
    public let slowConsumerCloses: Counter
    /// Broker (re)connections after a loss.
    public let brokerReconnects: Counter
    /// 1 while the broker connection is up and subscriptions restored, else 0.
    public let brokerConnected: Gauge
    /// Time from request to reply, per method.
    public let rpcLatency: CoreMetrics.Timer
    /// What made these metrics: brokers make their own per-link ones with it.
    public let factory: any MetricsFactory
    private let rpcErrorCounters: [RPCErrorKind: Counter]
    private let refusalCounters: [RefusalKind: Counter]

    /// What the access model refused, for the `kind` dimension of refusals.
    public enum RefusalKind: String, Sendable, CaseIterable {
        /// A connection without a valid token where one is required, or with a bad one.
        case connect
        /// A connection from an origin not allowed.
        case origin
        /// A subscribe the identity does not allow.
        case subscribe
        /// A publish the identity does not allow.
        case publish
        /// An HTTP API call without a valid API key.
        case apiKey = "api_key"
        /// A connection over a limit (per node, per address).
        case limit
        /// A request over the socket's rate.
        case rate
    }

    /// One line of help per metric family, for the `# HELP` lines of an exposition.
    public static let help: [String: String] = [
        "switchboard_proxy_requests_total": "Requests the node made to the application's backend, per proxy (connect, rpc, subscribe, publish).",
        "switchboard_proxy_errors_total": "Proxy requests that failed, per proxy and kind: unreachable, timeout, invalid (an answer of no documented shape), overloaded (too many in flight), refused (the backend said no).",
        "switchboard_proxy_duration_seconds": "How long the application's backend took to answer, per proxy.",
        "switchboard_connections": "Sockets connected now.",
        "switchboard_connections_opened_total": "Sockets opened since the node started.",
        "switchboard_channels": "Channels with subscribers on this node.",
        "switchboard_subscriptions": "Socket subscriptions (socket, channel, pattern) on this node.",
        "switchboard_messages_published_total": "Messages published through this node.",
        "switchboard_messages_received_total": "Messages received from the broker.",
        "switchboard_messages_delivered_total": "Message copies handed to this node's sockets.",
        "switchboard_messages_dropped_total": "Broker messages dropped as malformed.",
        "switchboard_slow_consumer_closes_total": "Sockets closed with 1008 for not reading their messages.",
        "switchboard_broker_reconnects_total": "Broker reconnections after a lost connection.",
        "switchboard_broker_connected": "1 while the broker connection is up and subscriptions are restored, else 0.",
        "switchboard_rpc_duration_seconds": "Time from an RPC request to its reply.",
        "switchboard_rpc_errors_total": "RPC error replies, by kind.",
        "switchboard_access_refusals_total": "Requests the access model refused, by kind.",
        "switchboard_redis_shard_connected": "1 while the link to this Redis shard's primary is up and its subscriptions are restored, else 0.",
        "switchboard_redis_shard_channels": "Channels this node holds on this Redis shard's subscriber connection.",
        "switchboard_redis_shard_reconnects_total": "Reconnections of the link to this Redis shard after a loss.",
        "switchboard_redis_topology_changes_total": "Redis Cluster topology changes this node applied (failovers, moved slots).",
        "switchboard_node_info": "Always 1; its labels name the node, its broker and its version.",
    ]

    /// Metrics made by `factory` (a no-op factory by default).
    public init(factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        self.factory = factory
        connections = Meter(label: "switchboard_connections", factory: factory)
        connectionsOpened = Counter(label: "switchboard_connections_opened_total", factory: factory)
        channels = Gauge(label: "switchboard_channels", factory: factory)
        subscriptions = Gauge(label: "switchboard_subscriptions", factory: factory)
        messagesPublished = Counter(label: "switchboard_messages_published_total", factory: factory)
        messagesReceived = Counter(label: "switchboard_messages_received_total", factory: factory)
        messagesDelivered = Counter(label: "switchboard_messages_delivered_total", factory: factory)
        messagesDropped = Counter(label: "switchboard_messages_dropped_total", factory: factory)
        slowConsumerCloses = Counter(label: "switchboard_slow_consumer_closes_total", factory: factory)
        brokerReconnects = Counter(label: "switchboard_broker_reconnects_total", factory: factory)
        brokerConnected = Gauge(label: "switchboard_broker_connected", factory: factory)
        rpcLatency = CoreMetrics.Timer(label: "switchboard_rpc_duration_seconds", preferredDisplayUnit: .seconds, factory: factory)
        var errors: [RPCErrorKind: Counter] = [:]
        for kind in RPCErrorKind.allCases {
            errors[kind] = Counter(label: "switchboard_rpc_errors_total", dimensions: [("kind", kind.rawValue)], factory: factory)
        }
        rpcErrorCounters = errors
        var refusals: [RefusalKind: Counter] = [:]
        for kind in RefusalKind.allCases {
            refusals[kind] = Counter(label: "switchboard_access_refusals_total", dimensions: [("kind", kind.rawValue)], factory: factory)
        }
        refusalCounters = refusals
    }

    /// Counts one refusal of `kind`.
    public func refusal(_ kind: RefusalKind) {
        refusalCounters[kind]?.increment()
    }

    /// Counts one RPC error of `kind`.
    public func rpcError(_ kind: RPCErrorKind) {
        rpcErrorCounters[kind]?.increment()
    }
}
