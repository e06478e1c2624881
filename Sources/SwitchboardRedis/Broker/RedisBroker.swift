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
    let inbox: SubscriberInbox
    private let prefixBytes: [UInt8]
    private let probeBytes: [UInt8]
    private let inboxBytes: [UInt8]
    private let state = Mutex(State())
    /// The hub, once bound (the subscriber's read path reads it from `inbox.delegate`).
    private let delegate = Mutex<(any BrokerDelegate)?>(nil)

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var publisher: RedisConnection?
        /// `false` once the publishing connection closed (it is kept across a subscriber loss).
        var publisherAlive = false
        var publisherToken: UInt64 = 0
        var subscriber: RedisConnection?
        var token: UInt64 = 0
        var ready = false
        var closed = false
        /// Channels the hub asked for and has not released (names without the prefix), as last
        /// told; after a reconnection, the hub's own record (`channelsToRestore`).
        var desired = Set<String>()
        /// Channels Redis confirmed on the current subscriber connection.
        var active = Set<String>()
        /// SUBSCRIBE sent on the current connection, confirmation pending.
        var requested = Set<String>()
        var waiters: [String: [Waiter]] = [:]
        var nextWaiter: UInt64 = 0
        /// Channels whose confirmation a reconnection waits for, and who waits.
        var restoring = Set<String>()
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
        self.inbox = SubscriberInbox(eventLoop: subscriberLoop)
        self.prefixBytes = Array(configuration.channelPrefix.utf8)
        self.probeBytes = Array(configuration.probeChannel.utf8)
        self.inboxBytes = Array(configuration.inboxChannel(of: configuration.nodeID).utf8)
    }

    public var isReady: Bool {
        state.withLock { $0.ready && !$0.closed }
    }

    public func bind(_ delegate: any BrokerDelegate) {
        self.delegate.withLock { $0 = delegate }
        subscriberLoop.execute { self.inbox.delegate = delegate }
    }

    public var info: JSONObject {
        state.withLock { state in
            [
                "url": .string(configuration.url.description),
                "prefix": .string(configuration.channelPrefix),
                "connected": .bool(state.ready),
                "subscribed_channels": .number(JSONNumber(state.active.count)),
                "reconnects": .number(JSONNumber(state.reconnects)),
            ]
        }
    }

    // MARK: - Publishing

    public func publish(channel: String, event: String?, rawData: RawJSON, options: PublishOptions, on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        if let ttl = options.stateTTL {
            return publishState(channel: channel, event: event, rawData: rawData, ttl: ttl, on: eventLoop)
        }
        if let history = options.history {
            return publish(channel: channel, event: event, rawData: rawData, history: history, on: eventLoop)
        }
        return publishTransient(channel: channel, event: event, rawData: rawData, on: eventLoop)
    }

    /// A PUBLISH of the message, nothing kept.
    func publishTransient(channel: String, event: String?, rawData: RawJSON, on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        guard ChannelName.isValid(channel), let publisher = livePublisher else {
            return eventLoop.makeFailedFuture(BrokerError.cannotPublish)
        }
        let command = RESPEncoder.publish(prefix: configuration.channelPrefix, channel: channel, payload: BrokerPayload.encodeBytes(event: event, rawData: rawData))
        return send(publish: command, channel: channel, on: publisher, replyOn: eventLoop)
    }

    /// Sends a command that publishes to `channel`; the future fails with `cannotPublish`.
    /// - Parameter onNoScript: for an EVALSHA, the same command as an EVAL, sent once if Redis
    ///   answers NOSCRIPT (its script cache was flushed, or it is a new server).
    func send(
        publish command: ByteBuffer,
        channel: String,
        on publisher: RedisConnection,
        replyOn eventLoop: any EventLoop,
        onNoScript: (@Sendable () -> ByteBuffer)? = nil
    ) -> EventLoopFuture<Void> {
        metrics.messagesPublished.increment()
        let promise = eventLoop.makePromise(of: Void.self)
        let logger = self.logger
        @Sendable func complete(_ result: Result<RESPValue, RedisError>, retry: (@Sendable () -> ByteBuffer)?) {
            switch result {
            case .success:
                promise.succeed()
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
    func publishState(channel: String, event: String?, rawData: RawJSON, ttl: Int, on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
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

    // MARK: - Subscribing

    public func subscribe(channel: String) async throws {
        guard ChannelName.isValid(channel) else { throw BrokerError.cannotSubscribe }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            enum Next {
                case resume(Result<Void, any Error>)
                case wait(UInt64, RedisConnection?)
            }
            let next: Next = state.withLock { state in
                if state.closed { return .resume(.failure(BrokerError.cannotSubscribe)) }
                state.desired.insert(channel)
                if state.active.contains(channel) { return .resume(.success(())) }
                state.nextWaiter += 1
                state.waiters[channel, default: []].append(Waiter(id: state.nextWaiter, continuation: continuation))
                if state.ready, let subscriber = state.subscriber, !state.requested.contains(channel) {
                    state.requested.insert(channel)
                    return .wait(state.nextWaiter, subscriber)
                }
                return .wait(state.nextWaiter, nil)
            }
            switch next {
            case .resume(let result):
                continuation.resume(with: result)
            case .wait(let id, let subscriber):
                logger.debug("subscribing", metadata: ["channel": "\(channel)", "now": "\(subscriber != nil)"])
                subscriber?.sendSubscription(["SUBSCRIBE", configuration.channelPrefix + channel])
                subscriberLoop.scheduleTask(in: configuration.subscribeTimeout) {
                    self.subscribeTimedOut(channel: channel, waiter: id)
                }
            }
        }
    }

    private func subscribeTimedOut(channel: String, waiter id: UInt64) {
        let waiter: Waiter? = state.withLock { state in
            guard var list = state.waiters[channel], let index = list.firstIndex(where: { $0.id == id }) else { return nil }
            let waiter = list.remove(at: index)
            state.waiters[channel] = list.isEmpty ? nil : list
            if list.isEmpty, !state.active.contains(channel) {
                // The registry gives up on the channel: do not restore it on reconnection.
                state.desired.remove(channel)
            }
            return waiter
        }
        guard let waiter else { return }
        logger.warning("subscribe timed out: Redis did not confirm in time", metadata: ["channel": "\(channel)"])
        waiter.continuation.resume(throwing: BrokerError.cannotSubscribe)
    }

    /// Releases the channel: Redis is told about a second later (`unsubscribeDelay`) unless the
    /// node wants it again by then, so sockets that leave and rejoin do not churn Redis. Once the
    /// UNSUBSCRIBE is sent the channel no longer counts as active: a subscribe after it sends its
    /// own SUBSCRIBE and waits for Redis to confirm it (the two are ordered on the connection).
    public func unsubscribe(channel: String) async {
        state.withLock { _ = $0.desired.remove(channel) }
        subscriberLoop.scheduleTask(in: configuration.unsubscribeDelay) {
            let subscriber: RedisConnection? = self.state.withLock { state in
                guard !state.desired.contains(channel), state.active.contains(channel) || state.requested.contains(channel) else { return nil }
                state.active.remove(channel)
                state.requested.remove(channel)
                return state.subscriber
            }
            subscriber?.sendSubscription(["UNSUBSCRIBE", self.configuration.channelPrefix + channel])
        }
    }

    // MARK: - Pushes from the subscriber connection (on its event loop)

    private func received(_ push: RedisPush) {
        switch push {
        case .message(let redisChannel, let payload):
            inbox.lastActivity = .now()
            deliver(redisChannel: redisChannel, payload: payload)
        case .subscribed(let name, _):
            confirmed(name)
        case .unsubscribed(let name, _):
            guard let channel = channelName(name) else { return }
            let resubscribe: RedisConnection? = state.withLock { state in
                state.active.remove(channel)
                if !state.desired.contains(channel) { inbox.forget(channel) }
                guard state.desired.contains(channel), !state.requested.contains(channel), let subscriber = state.subscriber else { return nil }
                state.requested.insert(channel)
                return subscriber
            }
            resubscribe?.sendSubscription(["SUBSCRIBE", name])
        case .pong:
            break
        }
    }

    private func deliver(redisChannel: ByteBuffer, payload: ByteBuffer) {
        if redisChannel.readableBytes == probeBytes.count, redisChannel.readableBytesView.elementsEqual(probeBytes) {
            inbox.probeDeadline = nil
            return
        }
        if redisChannel.readableBytes == inboxBytes.count, redisChannel.readableBytesView.elementsEqual(inboxBytes) {
            inbox.delegate?.receivedNodeMessage(payload)
            return
        }
        guard let channel = inbox.channelName(redisChannel, prefix: prefixBytes) else { return }
        metrics.messagesReceived.increment()
        let message: BrokerPayload.Message
        do {
            message = try BrokerPayload.decodeMessage(payload)
        } catch {
            metrics.messagesDropped.increment()
            inbox.dropped += 1
            if inbox.dropped <= 10 || inbox.dropped % 1000 == 0 {
                logger.warning(
                    "dropped a malformed Redis message",
                    metadata: ["channel": "\(configuration.channelPrefix)\(channel)", "reason": "\(error)", "dropped_total": "\(inbox.dropped)"]
                )
            }
            return
        }
        if let position = message.position, !inbox.admit(channel: channel, event: message.event, rawData: message.rawData, position: position) {
            return
        }
        let delivered = inbox.delegate?.deliver(channel: channel, event: message.event, rawData: message.rawData, position: message.position, into: &inbox.batch) ?? 0
        metrics.messagesDelivered.increment(by: Int64(delivered))
    }

    private func readComplete() {
        inbox.batch.dispatch()
    }

    private func confirmed(_ name: String) {
        if name == configuration.probeChannel || name == configuration.inboxChannel(of: nodeID) {
            finishRestoring(name)
            return
        }
        guard let channel = channelName(name) else { return }
        logger.debug("subscribed", metadata: ["channel": "\(channel)"])
        let (waiters, unwanted, subscriber) = state.withLock { state -> ([Waiter], Bool, RedisConnection?) in
            state.requested.remove(channel)
            let waiters = state.waiters.removeValue(forKey: channel) ?? []
            let unwanted = !state.desired.contains(channel)
            // A confirmation the node no longer wants is answered with an UNSUBSCRIBE: the
            // channel is not active meanwhile.
            if !unwanted { state.active.insert(channel) }
            return (waiters, unwanted, state.subscriber)
        }
        finishRestoring(channel)
        if unwanted { subscriber?.sendSubscription(["UNSUBSCRIBE", name]) }
        for waiter in waiters { waiter.continuation.resume() }
    }

    private func finishRestoring(_ channel: String) {
        let done: CheckedContinuation<Void, any Error>? = state.withLock { state in
            guard state.restoring.remove(channel) != nil, state.restoring.isEmpty else { return nil }
            defer { state.restored = nil }
            return state.restored
        }
        done?.resume()
    }

    private func channelName(_ redisChannel: String) -> String? {
        guard redisChannel.hasPrefix(configuration.channelPrefix) else { return nil }
        return String(redisChannel.dropFirst(configuration.channelPrefix.count))
    }

    // MARK: - Connections

    /// Connects, and keeps the connections up (reconnecting, restoring, probing, refreshing
    /// presence) until `close()`.
    public func run() async {
        subscriberLoop.execute { self.startProbing() }
        startPresenceRefresh()
        await supervise()
    }

    /// The hub, once bound (`nil` after `close()`).
    var boundDelegate: (any BrokerDelegate)? { delegate.withLock { $0 } }

    /// `true` once `close()` began.
    var isClosed: Bool { state.withLock { $0.closed } }

    /// Connects, restores subscriptions, waits for a loss, and again, until closed.
    private func supervise() async {
        var delay = configuration.reconnectDelay.initial
        var attempt = 0
        while !state.withLock({ $0.closed }) {
            do {
                try await connect()
                if attempt > 0 {
                    metrics.brokerReconnects.increment()
                    state.withLock { $0.reconnects += 1 }
                }
                logger.info("Redis connected, subscriptions restored", metadata: ["channels": "\(state.withLock { $0.active.count })"])
                delay = configuration.reconnectDelay.initial
                attempt = 0
                await waitForLoss()
                if state.withLock({ $0.closed }) { break }
                logger.warning("Redis connection lost; reconnecting")
            } catch {
                if attempt == 0 || attempt % 20 == 0 {
                    logger.warning("cannot connect to Redis; retrying", metadata: ["error": "\(error)", "attempt": "\(attempt + 1)"])
                }
            }
            markDown()
            if state.withLock({ $0.closed }) { break }
            attempt += 1
            let jittered = TimeAmount.nanoseconds(Int64(Double(delay.nanoseconds) * Double.random(in: 0.5...1.0)))
            try? await Task.sleep(for: .nanoseconds(jittered.nanoseconds))
            delay = min(delay * 2, configuration.reconnectDelay.maximum)
        }
    }

    private func connect() async throws {
        let token = state.withLock { state -> UInt64 in
            state.token += 1
            state.lost = false
            return state.token
        }
        let lost: @Sendable ((any Error)?) -> Void = { [weak self] error in self?.connectionClosed(token: token, error: error) }
        // A publishing connection that survived the subscriber's loss is kept.
        let kept: RedisConnection? = state.withLock { $0.publisherAlive ? $0.publisher : nil }
        let publisher: RedisConnection
        if let kept {
            publisher = kept
        } else {
            let publisherToken = state.withLock { state -> UInt64 in
                state.publisherToken += 1
                return state.publisherToken
            }
            publisher = try await RedisConnection.connect(
                to: configuration.url,
                on: publisherLoop,
                timeout: configuration.connectTimeout,
                keepReadBuffer: true,
                commandTimeout: configuration.commandTimeout,
                tls: configuration.tls,
                callbacks: RedisConnectionCallbacks(onClose: { [weak self] error in self?.publisherClosed(token: publisherToken, error: error) }),
                logger: logger
            )
            // History publishes name their script by its SHA-1 (EVALSHA): load it before the
            // connection takes publishes (a publish that still meets NOSCRIPT falls back to EVAL).
            _ = try? await publisher.send(["SCRIPT", "LOAD", RedisScripts.publishHistory]).get()
            // A connection that closed meanwhile (its command timed out: Redis hangs) is not
            // kept: its close was reported before it was ours, so nothing else would notice.
            let alive = state.withLock { state -> Bool in
                state.publisher = publisher
                state.publisherAlive = state.publisherToken == publisherToken && !state.closed && publisher.channel.isActive
                return state.publisherAlive
            }
            guard alive else {
                publisher.close()
                throw RedisError.connectionClosed
            }
        }
        let subscriber: RedisConnection
        do {
            subscriber = try await RedisConnection.connect(
                to: configuration.url,
                on: subscriberLoop,
                timeout: configuration.connectTimeout,
                keepReadBuffer: true,
                commandTimeout: configuration.commandTimeout,
                tls: configuration.tls,
                callbacks: RedisConnectionCallbacks(
                    onPush: { [weak self] push in self?.received(push) },
                    onReadComplete: { [weak self] in self?.readComplete() },
                    onClose: lost
                ),
                logger: logger
            )
        } catch {
            if kept == nil { publisher.close() }
            throw error
        }
        // The hub's record of its channels is what is restored.
        let restore = Set(delegate.withLock { $0 }?.channelsToRestore() ?? [])
        // History channels this node delivered from: hold their live messages until what was
        // published while the connection was down has been read from their streams.
        let wantedNow = state.withLock { state -> Set<String> in
            state.desired = restore
            return restore
        }
        let recovering = try await subscriberLoop.submit { self.inbox.beginRecovery(of: wantedNow) }.get()
        // Restore every channel the registry holds (and the probe channel), in batches.
        let wanted: [String] = state.withLock { state in
            state.publisher = publisher
            state.subscriber = subscriber
            state.active = []
            state.requested = Set(state.desired)
            state.restoring = Set(state.desired).union([configuration.probeChannel, configuration.inboxChannel(of: configuration.nodeID)])
            return Array(state.desired)
        }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            state.withLock { $0.restored = continuation }
            subscriber.sendSubscription(["SUBSCRIBE", configuration.probeChannel, configuration.inboxChannel(of: configuration.nodeID)])
            var index = 0
            while index < wanted.count {
                let batch = wanted[index..<min(index + configuration.resubscribeBatchSize, wanted.count)]
                subscriber.sendSubscription(["SUBSCRIBE"] + batch.map { configuration.channelPrefix + $0 })
                index += batch.count
            }
            subscriberLoop.scheduleTask(in: configuration.connectTimeout + .seconds(Int64(1 + wanted.count / 10_000))) {
                let pending = self.state.withLock { state -> CheckedContinuation<Void, any Error>? in
                    defer { state.restored = nil }
                    return state.restored
                }
                pending?.resume(throwing: RedisError.timeout)
            }
        }
        // Channels asked for while restoring were not in the snapshot: subscribe them now.
        let missing: [String] = state.withLock { state in
            state.ready = true
            let missing = state.desired.subtracting(state.active).subtracting(state.requested)
            state.requested.formUnion(missing)
            return Array(missing)
        }
        if !missing.isEmpty {
            subscriber.sendSubscription(["SUBSCRIBE"] + missing.map { configuration.channelPrefix + $0 })
        }
        subscriberLoop.execute {
            self.inbox.lastActivity = .now()
            self.inbox.probeDeadline = nil
        }
        if !recovering.isEmpty {
            Task { await self.recover(recovering) }
        }
    }

    /// The publishing connection closed: publishes fail until the supervisor reconnects (a
    /// closed publisher is a loss like the subscriber's).
    private func publisherClosed(token: UInt64, error: (any Error)?) {
        let current = state.withLock { state -> UInt64? in
            guard state.publisherToken == token else { return nil }
            state.publisherAlive = false
            return state.token
        }
        if let current { connectionClosed(token: current, error: error) }
    }

    private func connectionClosed(token: UInt64, error: (any Error)?) {
        let signal: CheckedContinuation<Void, Never>? = state.withLock { state in
            guard state.token == token, !state.lost else { return nil }
            state.lost = true
            state.ready = false
            defer { state.lossSignal = nil }
            return state.lossSignal
        }
        if let error { logger.debug("Redis connection closed", metadata: ["error": "\(error)"]) }
        signal?.resume()
        let restoring = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            guard state.token == token else { return nil }
            defer { state.restored = nil }
            return state.restored
        }
        restoring?.resume(throwing: RedisError.connectionClosed)
    }

    private func waitForLoss() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let lostAlready = state.withLock { state -> Bool in
                if state.lost || state.closed { return true }
                state.lossSignal = continuation
                return false
            }
            if lostAlready { continuation.resume() }
        }
    }

    /// Forgets the current connections (closing them); pending subscribes keep waiting for the
    /// next connection, up to their own deadline.
    private func markDown() {
        let connections = state.withLock { state -> [RedisConnection] in
            state.ready = false
            state.lost = true
            state.active = []
            state.requested = []
            state.restoring = []
            // A publishing connection that is still up stays: publishes go on meanwhile.
            let publisher = state.publisherAlive ? nil : state.publisher
            defer {
                if !state.publisherAlive { state.publisher = nil }
                state.subscriber = nil
            }
            return [publisher, state.subscriber].compactMap { $0 }
        }
        for connection in connections { connection.close() }
    }

    // MARK: - Probe

    private func startProbing() {
        let period = min(configuration.probeInterval, configuration.probeTimeout, .seconds(1))
        subscriberLoop.scheduleRepeatedTask(initialDelay: period, delay: period) { [weak self] task in
            guard let self else { return task.cancel() }
            if self.state.withLock({ $0.closed }) { return task.cancel() }
            self.probeTick()
        }
    }

    private func probeTick() {
        let now = NIODeadline.now()
        // No probe before the subscriber connection listens on the probe channel (a probe sent
        // while connecting would be lost, and taken for a silent connection).
        guard let publisher = livePublisher, isReady else {
            inbox.probeDeadline = nil
            return
        }
        if let deadline = inbox.probeDeadline {
            guard now > deadline else { return }
            inbox.probeDeadline = nil
            logger.error("the Redis subscriber connection is silent (probe lost): reconnecting")
            // Closing them reports the loss to the supervisor, which reconnects. The publishing
            // connection is given up here, before its close is reported (on its own loop): the
            // reconnection must not keep it, nor count its late close as a second loss.
            let connections = state.withLock { state -> [RedisConnection] in
                state.publisherAlive = false
                state.publisherToken += 1
                return [state.publisher, state.subscriber].compactMap { $0 }
            }
            for connection in connections { connection.close() }
            return
        }
        guard now - inbox.lastActivity > configuration.probeInterval else { return }
        inbox.probeDeadline = now + configuration.probeTimeout
        inbox.lastActivity = now
        publisher.send(["PUBLISH", configuration.probeChannel, "probe"]).whenFailure { _ in }
    }

    // MARK: - Closing

    public func close() async {
        let (waiters, connections, signal) = state.withLock { state in
            state.closed = true
            state.ready = false
            let waiters = state.waiters.values.flatMap { $0 }
            state.waiters = [:]
            defer { state.lossSignal = nil }
            return (waiters, [state.subscriber, state.publisher].compactMap { $0 }, state.lossSignal)
        }
        delegate.withLock { $0 = nil }
        for waiter in waiters { waiter.continuation.resume(throwing: BrokerError.cannotSubscribe) }
        signal?.resume()
        for connection in connections {
            connection.close()
            try? await connection.closeFuture.get()
        }
    }
}
