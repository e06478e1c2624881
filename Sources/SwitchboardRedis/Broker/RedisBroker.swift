import CoreMetrics
public import Logging
public import NIOCore
public import Switchboard
import Synchronization

/// The production broker: channels shared by every node through Redis pub/sub, history in Redis
/// Streams, presence and channel state in keys hash-tagged by channel. It sees no socket: what
/// it receives goes to its delegate (the node's `Hub`), and after a reconnection it asks the hub
/// which channels to subscribe again.
///
/// A single Redis (`redis://`) and a Redis Cluster (`redis+cluster://`) are the same code: a
/// topology of shards (one that owns every slot, or those `CLUSTER SHARDS` names), and one
/// `RedisShardLink` per primary, each a pipelined publishing connection and a subscriber
/// connection for the channels of its slots. On a single Redis a channel is `<prefix><channel>`
/// with PUBLISH/SUBSCRIBE; on a cluster `<prefix>{<channel>}` with SPUBLISH/SSUBSCRIBE, hashed
/// with its keys. Order is kept per channel (and, on a single Redis, per publisher across
/// channels). Payload = `{"event": ..., "data": ...}`.
///
/// The node subscribes when a channel gets its first local socket and unsubscribes (after
/// `unsubscribeDelay`) when it loses its last. When a link drops it reconnects with capped,
/// jittered exponential backoff, restores its subscriptions, then reports ready again; on a
/// cluster the topology is read again too (a replica may have taken over), and links follow it.
/// While Redis is down, publishes fail at once and subscribes after `subscribeTimeout`; sockets
/// stay. After `probeInterval` without messages a link publishes to its own probe channel and
/// reconnects if the probe does not come back.
public final class RedisBroker: NodeBackend {
    public let metrics: SwitchboardMetrics
    public let name = "redis"
    public var nodeID: String { configuration.nodeID }
    /// The settings.
    public let configuration: Configuration

    let logger: Logger
    let publisherLoop: any EventLoop
    let subscriberLoop: any EventLoop
    let reader: SubscriberReadState
    let naming: RedisChannelNaming
    let state: Mutex<State>
    /// The hub, once bound (the subscriber's read path reads it from `reader.delegate`).
    let delegate = Mutex<(any BrokerDelegate)?>(nil)
    /// New links, for `run()` to supervise.
    let newLinks: (stream: AsyncStream<RedisShardLink>, continuation: AsyncStream<RedisShardLink>.Continuation)
    /// Requests to read the topology again (they coalesce).
    let refreshRequests: (stream: AsyncStream<Void>, continuation: AsyncStream<Void>.Continuation)
    let topologyChanges: Counter
    /// On a single Redis, its one link: found with no lock per publish. Written once, in `init`
    /// (the link needs the broker, so it cannot be a `let`), and only read after: no check of
    /// exclusive access per read.
    @exclusivity(unchecked) nonisolated(unsafe) private(set) var singleLink: RedisShardLink?
    /// Set once a single Redis answered MOVED (it is a cluster node): said once in the log.
    let warnedClusterNode = Atomic(false)

    struct State {
        /// Which primary owns which slots (empty on a cluster until it is first read).
        var topology: RedisTopology
        /// One link per primary of the topology.
        var links: [RedisNodeAddress: RedisShardLink] = [:]
        var closed = false
        var changes = 0
        /// A topology read is scheduled after one that did not settle.
        var retryPending = false
        /// Topology reads that failed in a row (for the log).
        var failedReads = 0
    }

    /// Creates the broker; `run()` connects.
    public init(
        configuration: Configuration,
        metrics: SwitchboardMetrics = SwitchboardMetrics(),
        eventLoopGroup: any EventLoopGroup,
        logger: Logger = Logger(label: "switchboard.redis")
    ) {
        self.configuration = configuration
        self.metrics = metrics
        var logger = logger
        logger[metadataKey: "redis"] = "\(configuration.url)"
        self.logger = logger
        self.publisherLoop = eventLoopGroup.next()
        self.subscriberLoop = eventLoopGroup.next()
        self.reader = SubscriberReadState(eventLoop: subscriberLoop)
        self.naming = RedisChannelNaming(prefix: configuration.channelPrefix, sharded: configuration.url.cluster)
        let url = configuration.url
        self.state = Mutex(State(topology: url.cluster ? RedisTopology(shards: []) : .single(RedisNodeAddress(host: url.host, port: url.port))))
        self.newLinks = AsyncStream.makeStream(of: RedisShardLink.self)
        self.refreshRequests = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        self.topologyChanges = Counter(label: "switchboard_redis_topology_changes_total", factory: metrics.factory)
        if !url.cluster {
            let link = RedisShardLink(address: RedisNodeAddress(host: url.host, port: url.port), broker: self)
            state.withLock { $0.links[link.address] = link }
            singleLink = link
            newLinks.continuation.yield(link)
        }
    }

    /// Ready when the topology covers every slot and every link is connected and restored.
    public var isReady: Bool {
        let (ready, links) = state.withLock { state in
            (!state.closed && state.topology.coversAllSlots && !state.links.isEmpty, Array(state.links.values))
        }
        return ready && links.allSatisfy(\.isReady)
    }

    public func bind(_ delegate: any BrokerDelegate) {
        self.delegate.withLock { $0 = delegate }
        subscriberLoop.execute { self.reader.delegate = delegate }
    }

    /// The links, ordered by primary address.
    var links: [RedisShardLink] {
        state.withLock { state in state.links.values.sorted { $0.address < $1.address } }
    }

    public var info: JSONObject {
        let links = self.links
        let shards = links.map(\.info)
        let changes = state.withLock { $0.changes }
        var info: JSONObject = [
            "url": .string(configuration.url.description),
            "prefix": .string(configuration.channelPrefix),
            "mode": .string(naming.sharded ? "cluster" : "single"),
            "connected": .bool(isReady),
            "subscribed_channels": .number(JSONNumber(shards.reduce(0) { $0 + ($1["subscribed_channels"]?.intValue ?? 0) })),
            "reconnects": .number(JSONNumber(shards.reduce(0) { $0 + ($1["reconnects"]?.intValue ?? 0) })),
            "shards": .array(shards.map { .object($0) }),
        ]
        if naming.sharded { info["topology_changes"] = .number(JSONNumber(changes)) }
        return info
    }

    // MARK: - Routing

    /// The link of the primary that owns `redisName`'s slot.
    func link(forRedisName redisName: String) -> RedisShardLink? {
        if !naming.sharded { return singleLink }
        let slot = HashSlot(key: redisName)
        return state.withLock { state in state.topology.primary(for: slot).flatMap { state.links[$0] } }
    }

    /// The link of `channel` (on a single Redis, the one link: no name is built per publish).
    func link(for channel: String) -> RedisShardLink? {
        if !naming.sharded { return singleLink }
        return link(forRedisName: naming.redisName(channel))
    }

    /// The publishing connection for `channel`'s shard, while it is up.
    func publisher(for channel: String) -> RedisConnection? {
        link(for: channel)?.livePublisher
    }

    /// The hub's channels whose slots `link` owns: what it restores.
    func channelsToRestore(on link: RedisShardLink) -> Set<String> {
        let all = delegate.withLock { $0 }?.channelsToRestore() ?? []
        if !naming.sharded { return Set(all) }
        let topology = state.withLock { $0.topology }
        return Set(all.filter { topology.primary(for: naming.slot(of: $0)) == link.address })
    }

    /// Whether the node's inbox is on `link`'s shard.
    func ownsInbox(_ link: RedisShardLink) -> Bool {
        guard naming.sharded else { return true }
        let slot = HashSlot(key: naming.redisName(ChannelName.reservedPrefix + nodeID))
        return state.withLock { $0.topology.primary(for: slot) } == link.address
    }

    /// `link`'s probe channel: on a cluster, one whose slot the link's primary owns.
    func probeChannel(on link: RedisShardLink) -> String? {
        guard naming.sharded else { return configuration.probeChannel }
        let topology = state.withLock { $0.topology }
        for tag in 0..<(HashSlot.count * 4) {
            let name = "\(configuration.probeChannel) {\(tag)}"
            if topology.primary(for: HashSlot(key: name)) == link.address { return name }
        }
        return nil
    }

    // MARK: - Subscribing

    public func subscribe(channel: String) async throws {
        guard ChannelName.isValid(channel), let link = link(for: channel) else { throw BrokerError.cannotSubscribe }
        try await link.subscribe(channel: channel)
    }

    public func unsubscribe(channel: String) async {
        // The link that holds it (after a topology change, maybe not the slot's owner any more).
        let links = self.links
        for link in links where link.holds(channel) { link.unsubscribe(channel: channel) }
    }

    // MARK: - The read path (on the subscriber loop)

    func deliver(redisChannel: ByteBuffer, payload: ByteBuffer) {
        guard let channel = reader.channelName(redisChannel, naming: naming) else { return }
        reader.receivedInRead += 1
        let message: BrokerPayload.Message
        do {
            message = try BrokerPayload.decodeMessage(payload)
        } catch {
            metrics.messagesDropped.increment()
            reader.dropped += 1
            if reader.dropped <= 10 || reader.dropped % 1000 == 0 {
                logger.warning(
                    "dropped a malformed Redis message",
                    metadata: ["channel": "\(naming.redisName(channel))", "reason": "\(error)", "dropped_total": "\(reader.dropped)"]
                )
            }
            return
        }
        if let position = message.position, !reader.admit(channel: channel, event: message.event, rawData: message.rawData, position: position) {
            return
        }
        reader.deliveredInRead += reader.delegate?.deliver(channel: channel, event: message.event, rawData: message.rawData, position: message.position, into: &reader.batch) ?? 0
    }

    func readComplete() {
        reader.batch.dispatch()
        let counts = reader.takeCounts()
        if counts.received > 0 { metrics.messagesReceived.increment(by: Int64(counts.received)) }
        if counts.delivered > 0 { metrics.messagesDelivered.increment(by: Int64(counts.delivered)) }
    }
}
