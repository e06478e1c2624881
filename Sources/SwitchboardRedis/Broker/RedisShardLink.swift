import CoreMetrics
import Logging
import NIOCore
import Switchboard
import Synchronization

/// The node's link to one Redis primary (a single Redis, or one shard of a Redis Cluster): a
/// pipelined publishing connection and a subscriber connection carrying the channels of the
/// slots that primary owns, with its own readiness, probe and reconnection. The broker routes
/// each channel to the link of its slot; every link hands what it receives to the broker's one
/// read path (the subscriber connections all live on the broker's subscriber event loop).
final class RedisShardLink: Sendable {
    /// The primary.
    let address: RedisNodeAddress
    /// Its URL (the broker's credentials and TLS).
    let url: RedisURL
    let broker: RedisBroker
    let logger: Logger
    let state = Mutex(State())
    /// Probe timing, on the subscriber loop.
    let probe: NIOLoopBoundBox<ProbeState>
    let connectedGauge: Gauge
    let channelsGauge: Gauge
    let reconnectsCounter: Counter

    struct State {
        var publisher: RedisConnection?
        /// `false` once the publishing connection closed (it is kept across a subscriber loss).
        var publisherAlive = false
        var publisherToken: UInt64 = 0
        var subscriber: RedisConnection?
        var token: UInt64 = 0
        /// The broker closed, or the link's primary left the topology.
        var closed = false
        /// The subscriber connection's channels: wanted, confirmed, asked for, and who waits.
        var subscriptions = RedisSubscriptionTable<CheckedContinuation<Void, any Error>>()
        /// Resumed once the current connection's restore is confirmed.
        var restored: CheckedContinuation<Void, any Error>?
        var lost = false
        var lossSignal: CheckedContinuation<Void, Never>?
        var reconnects = 0
        /// The node's own channels on this link's subscriber connection (Redis names): the probe
        /// channel, and the node's inbox when its slot is this shard's.
        var probeChannel: String?
        var inboxChannel: String?
    }

    /// When the subscriber connection last received anything, and the probe's deadline.
    struct ProbeState {
        /// As of the last probe tick: a message since then counts as activity at the next tick
        /// (at most a tick late, a tick being at most a second and at most `probeInterval`).
        var lastActivity = NIODeadline.now()
        /// A message came since the last probe tick.
        var heard = false
        var deadline: NIODeadline?
        var probeBytes: [UInt8] = []
        var inboxBytes: [UInt8] = []
    }

    init(address: RedisNodeAddress, broker: RedisBroker) {
        self.address = address
        self.url = broker.configuration.url.cluster || broker.configuration.url.seeds.count > 1 ? broker.configuration.url.node(address) : broker.configuration.url
        self.broker = broker
        var logger = broker.logger
        logger[metadataKey: "shard"] = "\(address)"
        self.logger = logger
        self.probe = NIOLoopBoundBox.makeBoxSendingValue(ProbeState(), eventLoop: broker.subscriberLoop)
        let dimensions = [("shard", address.description)]
        let factory = broker.metrics.factory
        connectedGauge = Gauge(label: "switchboard_redis_shard_connected", dimensions: dimensions, factory: factory)
        channelsGauge = Gauge(label: "switchboard_redis_shard_channels", dimensions: dimensions, factory: factory)
        reconnectsCounter = Counter(label: "switchboard_redis_shard_reconnects_total", dimensions: dimensions, factory: factory)
    }

    var configuration: RedisBroker.Configuration { broker.configuration }
    var naming: RedisChannelNaming { broker.naming }

    /// Connected, and every subscription restored.
    var isReady: Bool {
        state.withLock { $0.subscriptions.connected && !$0.closed }
    }

    var isClosed: Bool { state.withLock { $0.closed } }

    /// The publishing connection while it is up. It outlives a lost subscriber connection:
    /// publishes go on while the link resubscribes.
    var livePublisher: RedisConnection? {
        state.withLock { $0.publisherAlive && !$0.closed ? $0.publisher : nil }
    }

    /// The link's line in `info`.
    var info: JSONObject {
        state.withLock { state in
            [
                "address": .string(address.description),
                "connected": .bool(state.subscriptions.connected),
                "subscribed_channels": .number(JSONNumber(state.subscriptions.active.count)),
                "reconnects": .number(JSONNumber(state.reconnects)),
            ]
        }
    }

    /// Records the link's gauges.
    func recordMetrics() {
        let (connected, channels) = state.withLock { ($0.subscriptions.connected && !$0.closed, $0.subscriptions.active.count) }
        connectedGauge.record(connected ? 1 : 0)
        channelsGauge.record(channels)
    }
}
