import CoreMetrics
import Logging
import NIOCore
import Switchboard
import Synchronization

/// A link's connections: connecting, restoring its channels, noticing a loss (a closed
/// connection, a command past its deadline, a probe that does not come back), reconnecting with
/// backoff, and closing.
extension RedisShardLink {
    /// Connects, restores subscriptions, waits for a loss, and again, until the link closes.
    func supervise() async {
        var delay = configuration.reconnectDelay.initial
        var attempt = 0
        var everConnected = false
        while !isClosed {
            do {
                let recovering = try await connect()
                if everConnected || attempt > 0 {
                    broker.metrics.brokerReconnects.increment()
                    reconnectsCounter.increment()
                    state.withLock { $0.reconnects += 1 }
                }
                everConnected = true
                recordMetrics()
                logger.info("Redis connected, subscriptions restored", metadata: ["channels": "\(state.withLock { $0.subscriptions.active.count })"])
                delay = configuration.reconnectDelay.initial
                attempt = 0
                // History channels read what they missed while this connection serves; a loss
                // ends the reads (their commands fail) before the next connection starts.
                await withDiscardingTaskGroup { group in
                    if !recovering.isEmpty { group.addTask { await self.broker.recover(recovering) } }
                    await waitForLoss()
                }
                recordMetrics()
                if isClosed { break }
                logger.warning("Redis connection lost; reconnecting")
                broker.linkLost(self)
            } catch {
                if attempt == 0 || attempt % 20 == 0 {
                    logger.warning("cannot connect to Redis; retrying", metadata: ["error": "\(error)", "attempt": "\(attempt + 1)"])
                }
                if attempt == 0 { broker.linkLost(self) }
            }
            markDown()
            if isClosed { break }
            attempt += 1
            let jittered = TimeAmount.nanoseconds(Int64(Double(delay.nanoseconds) * Double.random(in: 0.5...1.0)))
            try? await Task.sleep(for: .nanoseconds(jittered.nanoseconds))
            delay = min(delay * 2, configuration.reconnectDelay.maximum)
        }
        markDown()
        recordMetrics()
    }

    /// Connects and restores; returns the history channels to recover (their last positions).
    func connect() async throws -> [String: StreamPosition] {
        let token = state.withLock { state -> UInt64 in
            state.token += 1
            state.lost = false
            return state.token
        }
        // The connections' callbacks hold the link strongly, not weakly: a weak reference gives
        // the link a side table, which sends every count of it (one per publish) down the
        // runtime's slow path. The cycle (link, connection, its handler's callbacks) ends when
        // the connection closes and NIO removes the handler; `close()` closes both.
        let lost: @Sendable ((any Error)?) -> Void = { error in self.connectionClosed(token: token, error: error) }
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
                to: url,
                on: broker.publisherLoop,
                timeout: configuration.connectTimeout,
                keepReadBuffer: true,
                commandTimeout: configuration.commandTimeout,
                tls: configuration.tls,
                callbacks: RedisConnectionCallbacks(onClose: { error in self.publisherClosed(token: publisherToken, error: error) }),
                logger: logger
            )
            // History publishes name their script by its SHA-1 (EVALSHA): load it before the
            // connection takes publishes (a publish that still meets NOSCRIPT falls back to EVAL).
            _ = try? await publisher.send(["SCRIPT", "LOAD", RedisScripts.publishHistory(naming).script]).get()
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
                to: url,
                on: broker.subscriberLoop,
                timeout: configuration.connectTimeout,
                keepReadBuffer: true,
                commandTimeout: configuration.commandTimeout,
                tls: configuration.tls,
                callbacks: RedisConnectionCallbacks(
                    // Messages go to the broker without touching the link.
                    onPush: { [probe, broker] push in
                        if case .message(let channel, let payload) = push {
                            RedisShardLink.received(redisChannel: channel, payload: payload, probe: probe, broker: broker)
                        } else {
                            self.received(push)
                        }
                    },
                    onReadComplete: { [broker] in broker.readComplete() },
                    onClose: lost
                ),
                logger: logger
            )
        } catch {
            if kept == nil { publisher.close() }
            throw error
        }
        // The hub's record of the channels of this link's slots is what is restored, with the
        // node's own probe channel and (on its shard) inbox.
        let restore = broker.channelsToRestore(on: self)
        let probeChannel = broker.probeChannel(on: self)
        let inboxChannel = broker.ownsInbox(self) ? naming.redisName(ChannelName.reservedPrefix + broker.nodeID) : nil
        let extra = [probeChannel, inboxChannel].compactMap { $0 }
        // History channels this node delivered from: hold their live messages until what was
        // published while the connection was down has been read from their streams.
        let wanted: [String] = state.withLock { state in
            state.probeChannel = probeChannel
            state.inboxChannel = inboxChannel
            return state.subscriptions.restart(with: restore, extra: extra)
        }
        let recovering = try await broker.subscriberLoop.submit {
            self.probe.value.probeBytes = probeChannel.map { Array($0.utf8) } ?? []
            self.probe.value.inboxBytes = inboxChannel.map { Array($0.utf8) } ?? []
            return self.broker.reader.beginRecovery(of: restore)
        }.get()
        state.withLock { state in
            state.publisher = publisher
            state.subscriber = subscriber
        }
        // Restore every channel (and the node's own), in batches.
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            state.withLock { $0.restored = continuation }
            sendSubscribe(extra, on: subscriber)
            var index = 0
            while index < wanted.count {
                let batch = wanted[index..<min(index + configuration.resubscribeBatchSize, wanted.count)]
                sendSubscribe(batch.map { naming.redisName($0) }, on: subscriber)
                index += batch.count
            }
            broker.subscriberLoop.scheduleTask(in: configuration.connectTimeout + .seconds(Int64(1 + wanted.count / 10_000))) {
                let pending = self.state.withLock { state -> CheckedContinuation<Void, any Error>? in
                    defer { state.restored = nil }
                    return state.restored
                }
                pending?.resume(throwing: RedisError.timeout)
            }
        }
        // Channels asked for while restoring were not in the snapshot: subscribe them now.
        let missing = state.withLock { $0.subscriptions.ready() }
        if !missing.isEmpty { sendSubscribe(missing.map { naming.redisName($0) }, on: subscriber) }
        broker.subscriberLoop.execute {
            self.probe.value.lastActivity = .now()
            self.probe.value.deadline = nil
        }
        return recovering
    }

    /// SUBSCRIBE (or SSUBSCRIBE) of Redis channels: one command for all on a single Redis; on a
    /// cluster one command per channel (channels of one command must share a slot), written together.
    func sendSubscribe(_ redisNames: [String], on connection: RedisConnection) {
        send(naming.subscribeCommand, redisNames, on: connection)
    }

    /// UNSUBSCRIBE (or SUNSUBSCRIBE) of one Redis channel.
    func sendUnsubscribe(_ redisName: String, on connection: RedisConnection) {
        send(naming.unsubscribeCommand, [redisName], on: connection)
    }

    private func send(_ command: String, _ redisNames: [String], on connection: RedisConnection) {
        guard !redisNames.isEmpty else { return }
        if naming.sharded {
            var buffer = ByteBuffer()
            for name in redisNames { RESPEncoder.write([command, name], into: &buffer) }
            connection.sendSubscription(encoded: buffer)
        } else {
            connection.sendSubscription([command] + redisNames)
        }
    }

    /// The publishing connection closed: publishes fail until the supervisor reconnects (a
    /// closed publisher is a loss like the subscriber's).
    func publisherClosed(token: UInt64, error: (any Error)?) {
        let current = state.withLock { state -> UInt64? in
            guard state.publisherToken == token else { return nil }
            state.publisherAlive = false
            return state.token
        }
        if let current { connectionClosed(token: current, error: error) }
    }

    func connectionClosed(token: UInt64, error: (any Error)?) {
        let signal: CheckedContinuation<Void, Never>? = state.withLock { state in
            guard state.token == token, !state.lost else { return nil }
            state.lost = true
            state.subscriptions.connectionLost()
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

    func waitForLoss() async {
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
    func markDown() {
        let connections = state.withLock { state -> [RedisConnection] in
            state.lost = true
            state.subscriptions.connectionLost()
            // A publishing connection that is still up stays: publishes go on meanwhile.
            let keep = state.publisherAlive && !state.closed
            let publisher = keep ? nil : state.publisher
            defer {
                if !keep {
                    state.publisher = nil
                    state.publisherAlive = false
                }
                state.subscriber = nil
            }
            return [publisher, state.subscriber].compactMap { $0 }
        }
        for connection in connections { connection.close() }
    }

    /// Closes both connections; the supervisor reconnects (and restores what the link owns now).
    func reconnect() {
        let connections = state.withLock { state -> [RedisConnection] in
            state.publisherAlive = false
            state.publisherToken += 1
            return [state.publisher, state.subscriber].compactMap { $0 }
        }
        for connection in connections { connection.close() }
    }

    /// Closes the subscriber connection only: the supervisor reconnects it and restores what
    /// the link owns now, publishes going on meanwhile.
    func restartSubscriber() {
        state.withLock { $0.subscriber }?.close()
    }

    /// Whether the link's probe channel is still in its slots, and its inbox where it should be.
    func ownChannelsCurrent() -> Bool {
        let (probe, inbox) = state.withLock { ($0.probeChannel, $0.inboxChannel) }
        guard let probe else { return true }
        let probeOwned = broker.link(forRedisName: probe) === self
        return probeOwned && (inbox != nil) == broker.ownsInbox(self)
    }

    // MARK: - Probe

    /// One probe tick (on the subscriber loop).
    func probeTick() {
        recordMetrics()
        let now = NIODeadline.now()
        if probe.value.heard {
            probe.value.heard = false
            probe.value.lastActivity = now
        }
        // No probe before the subscriber connection listens on the probe channel (a probe sent
        // while connecting would be lost, and taken for a silent connection).
        guard let publisher = livePublisher, isReady, let channel = state.withLock({ $0.probeChannel }) else {
            probe.value.deadline = nil
            return
        }
        if let deadline = probe.value.deadline {
            guard now > deadline else { return }
            probe.value.deadline = nil
            logger.error("the Redis subscriber connection is silent (probe lost): reconnecting")
            // Closing them reports the loss to the supervisor, which reconnects. The publishing
            // connection is given up here, before its close is reported (on its own loop): the
            // reconnection must not keep it, nor count its late close as a second loss.
            reconnect()
            return
        }
        guard now - probe.value.lastActivity > configuration.probeInterval else { return }
        probe.value.deadline = now + configuration.probeTimeout
        probe.value.lastActivity = now
        publisher.send([naming.publishCommand, channel, "probe"]).whenFailure { _ in }
    }

    // MARK: - Closing

    /// Closes the link for good: waiters fail, connections close.
    func close() async {
        let (waiters, connections, signal, restoring) = state.withLock { state in
            state.closed = true
            state.subscriptions.connectionLost()
            let waiters = state.subscriptions.removeAllWaiters()
            defer {
                state.lossSignal = nil
                state.restored = nil
            }
            return (waiters, [state.subscriber, state.publisher].compactMap { $0 }, state.lossSignal, state.restored)
        }
        for waiter in waiters { waiter.resume(throwing: BrokerError.cannotSubscribe) }
        signal?.resume()
        restoring?.resume(throwing: RedisError.connectionClosed)
        for connection in connections {
            connection.close()
            try? await connection.closeFuture.get()
        }
        recordMetrics()
    }
}
