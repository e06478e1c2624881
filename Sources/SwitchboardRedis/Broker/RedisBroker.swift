import CoreMetrics
public import Logging
public import NIOCore
public import Switchboard
import Synchronization

/// The production broker: channels shared by every node through Redis PUBLISH/SUBSCRIBE, history
/// in Redis Streams, presence and channel state in keys hash-tagged by channel. It sees no socket:
/// what it receives goes to its delegate (the node's `Hub`), and after a reconnection it asks the
/// hub which channels to subscribe again.
///
/// Per node: one pipelined publishing connection, and one subscriber connection that carries
/// every channel of the node (so a node sees one publisher's messages in publish order, across
/// channels). Redis channel = `<prefix><channel>`; payload = `{"event": ..., "data": ...}`.
///
/// The node subscribes when a channel gets its first local socket and unsubscribes (after
/// `unsubscribeDelay`) when it loses its last. When a connection drops it reconnects with capped,
/// jittered exponential backoff, restores every subscription, then reports ready again. While
/// Redis is down, publishes fail at once and subscribes after `subscribeTimeout`; sockets stay.
/// After `probeInterval` without messages it publishes to its own probe channel and reconnects if
/// the probe does not come back: a subscriber connection that silently stopped receiving is found.
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
    let prefixBytes: [UInt8]
    let probeBytes: [UInt8]
    let inboxBytes: [UInt8]
    let state = Mutex(State())
    /// The hub, once bound (the subscriber's read path reads it from `reader.delegate`).
    let delegate = Mutex<(any BrokerDelegate)?>(nil)

    struct State {
        var publisher: RedisConnection?
        /// `false` once the publishing connection closed (it is kept across a subscriber loss).
        var publisherAlive = false
        var publisherToken: UInt64 = 0
        var subscriber: RedisConnection?
        var token: UInt64 = 0
        var closed = false
        /// The subscriber connection's channels: wanted, confirmed, asked for, and who waits.
        var subscriptions = RedisSubscriptionTable<CheckedContinuation<Void, any Error>>()
        /// Resumed once the current connection's restore is confirmed.
        var restored: CheckedContinuation<Void, any Error>?
        var lost = false
        var lossSignal: CheckedContinuation<Void, Never>?
        var reconnects = 0
    }

    /// Creates the broker; `start()` connects.
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
        self.prefixBytes = Array(configuration.channelPrefix.utf8)
        self.probeBytes = Array(configuration.probeChannel.utf8)
        self.inboxBytes = Array(configuration.inboxChannel(of: configuration.nodeID).utf8)
    }

    public var isReady: Bool {
        state.withLock { $0.subscriptions.connected && !$0.closed }
    }

    public func bind(_ delegate: any BrokerDelegate) {
        self.delegate.withLock { $0 = delegate }
        subscriberLoop.execute { self.reader.delegate = delegate }
    }

    public var info: JSONObject {
        state.withLock { state in
            [
                "url": .string(configuration.url.description),
                "prefix": .string(configuration.channelPrefix),
                "connected": .bool(state.subscriptions.connected),
                "subscribed_channels": .number(JSONNumber(state.subscriptions.active.count)),
                "reconnects": .number(JSONNumber(state.reconnects)),
            ]
        }
    }

    // MARK: - Publishing

    public func publish(channel: String, event: String?, rawData: RawJSON, options: PublishOptions, on eventLoop: any EventLoop) -> EventLoopFuture<StreamPosition?> {
        if let history = options.history {
            return publish(channel: channel, event: event, rawData: rawData, history: history, stateTTL: options.stateTTL, on: eventLoop)
        }
        if let ttl = options.stateTTL {
            return publishState(channel: channel, event: event, rawData: rawData, ttl: ttl, on: eventLoop)
        }
        return publishTransient(channel: channel, event: event, rawData: rawData, on: eventLoop)
    }

    /// A PUBLISH of the message, nothing kept.
    func publishTransient(channel: String, event: String?, rawData: RawJSON, on eventLoop: any EventLoop) -> EventLoopFuture<StreamPosition?> {
        guard ChannelName.isValid(channel), let publisher = livePublisher else {
            return eventLoop.makeFailedFuture(BrokerError.cannotPublish)
        }
        let command = RESPEncoder.publish(prefix: configuration.channelPrefix, channel: channel, payload: BrokerPayload.encodeBytes(event: event, rawData: rawData))
        return send(publish: command, channel: channel, on: publisher, replyOn: eventLoop)
    }

    /// Sends a command that publishes to `channel`; the future gives the position `position`
    /// reads from the reply (none by default), or fails with `cannotPublish`.
    /// - Parameter onNoScript: for an EVALSHA, the same command as an EVAL, sent once if Redis
    ///   answers NOSCRIPT (its script cache was flushed, or it is a new server).
    func send(
        publish command: ByteBuffer,
        channel: String,
        on publisher: RedisConnection,
        replyOn eventLoop: any EventLoop,
        position: @escaping @Sendable (RESPValue) -> StreamPosition? = { _ in nil },
        onNoScript: (@Sendable () -> ByteBuffer)? = nil
    ) -> EventLoopFuture<StreamPosition?> {
        metrics.messagesPublished.increment()
        let promise = eventLoop.makePromise(of: StreamPosition?.self)
        let logger = self.logger
        @Sendable func complete(_ result: Result<RESPValue, RedisError>, retry: (@Sendable () -> ByteBuffer)?) {
            switch result {
            case .success(let reply):
                promise.succeed(position(reply))
            case .failure(.server(let message)) where retry != nil && message.hasPrefix("NOSCRIPT"):
                publisher.send(encoded: retry!(), completion: RedisCompletion(on: eventLoop) { complete($0, retry: nil) })
            case .failure(.server(let message)):
                // Redis refused the command itself (OOM, a key of the wrong type, a script error):
                // not a lost connection, which the reconnection logs report.
                logger.warning("Redis refused a publish", metadata: ["channel": "\(channel)", "error": "\(message)"])
                promise.fail(BrokerError.cannotPublish)
            case .failure(let error):
                logger.debug("publish failed", metadata: ["channel": "\(channel)", "error": "\(error)"])
                promise.fail(BrokerError.cannotPublish)
            }
        }
        publisher.send(encoded: command, completion: RedisCompletion(on: eventLoop) { complete($0, retry: onNoScript) })
        return promise.futureResult
    }

    // MARK: - Node inboxes

    public func send(toNode nodeID: String, message: ByteBuffer) async throws -> Int {
        guard let publisher = livePublisher else { throw BrokerError.cannotPublish }
        let reply = try await publisher.send([ByteBuffer(string: "PUBLISH"), ByteBuffer(string: configuration.inboxChannel(of: nodeID)), message]).get()
        return Int(reply.integer ?? 0)
    }

    // MARK: - Channel state

    /// Stores the state (expiring `ARGV[3]` seconds later) and publishes the message in one step
    /// on the Redis server.
    private static let publishStateScript = "redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) return redis.call('PUBLISH', ARGV[1], ARGV[2])"

    /// The key of a channel's state; the channel is its hash tag, so that on Redis Cluster it
    /// lives on the shard of the channel's other keys.
    func stateKey(_ channel: String) -> String {
        "\(configuration.channelPrefix)state:{\(channel)}"
    }

    /// Keeps the message as the channel's state for `ttl` seconds, and publishes it.
    func publishState(channel: String, event: String?, rawData: RawJSON, ttl: Int, on eventLoop: any EventLoop) -> EventLoopFuture<StreamPosition?> {
        guard ChannelName.isValid(channel), let publisher = livePublisher else {
            return eventLoop.makeFailedFuture(BrokerError.cannotPublish)
        }
        let payload = ByteBuffer(bytes: BrokerPayload.encodeBytes(event: event, rawData: rawData))
        var command = ByteBuffer()
        RESPEncoder.write(
            [
                ByteBuffer(string: "EVAL"), ByteBuffer(string: Self.publishStateScript), ByteBuffer(string: "1"),
                ByteBuffer(string: stateKey(channel)), ByteBuffer(string: configuration.channelPrefix + channel), payload,
                ByteBuffer(string: "\(ttl)"),
            ],
            into: &command
        )
        return send(publish: command, channel: channel, on: publisher, replyOn: eventLoop)
    }

    /// The publishing connection while it is up. It outlives a lost subscriber connection:
    /// publishes go on while the node resubscribes.
    var livePublisher: RedisConnection? {
        state.withLock { $0.publisherAlive && !$0.closed ? $0.publisher : nil }
    }

    public func state(of channel: String) async throws -> ChannelState? {
        guard let publisher = livePublisher else { throw BrokerError.cannotSubscribe }
        let reply: RESPValue
        do {
            reply = try await publisher.send(["GET", stateKey(channel)]).get()
        } catch {
            throw BrokerError.cannotSubscribe
        }
        guard let payload = reply.bytes else { return nil }
        guard let message = try? BrokerPayload.decode(payload) else {
            logger.warning("ignored a malformed channel state", metadata: ["key": "\(stateKey(channel))"])
            return nil
        }
        return ChannelState(event: message.event, rawData: message.rawData)
    }

}
