import CoreMetrics
import Logging
import NIOCore
import Switchboard
import Synchronization

/// The connections' life: connecting, restoring the hub's channels, noticing a loss (a closed
/// connection, a command past its deadline, a probe that does not come back), reconnecting with
/// backoff, and closing.
extension RedisBroker {
    // MARK: - Connections

    /// Connects, and keeps the connections up (reconnecting, restoring, probing, refreshing
    /// presence) until `close()`. Everything it starts ends before it returns.
    public func run() async {
        subscriberLoop.execute { self.startProbing() }
        await withDiscardingTaskGroup { group in
            group.addTask { await self.refreshPresence() }
            await supervise()
            group.cancelAll()
        }
    }

    /// The hub, once bound (`nil` after `close()`).
    var boundDelegate: (any BrokerDelegate)? { delegate.withLock { $0 } }

    /// `true` once `close()` began.
    var isClosed: Bool { state.withLock { $0.closed } }

    /// Connects, restores subscriptions, waits for a loss, and again, until closed.
    func supervise() async {
        var delay = configuration.reconnectDelay.initial
        var attempt = 0
        while !state.withLock({ $0.closed }) {
            do {
                let recovering = try await connect()
                if attempt > 0 {
                    metrics.brokerReconnects.increment()
                    state.withLock { $0.reconnects += 1 }
                }
                logger.info("Redis connected, subscriptions restored", metadata: ["channels": "\(state.withLock { $0.subscriptions.active.count })"])
                delay = configuration.reconnectDelay.initial
                attempt = 0
                // History channels read what they missed while this connection serves; a loss
                // ends the reads (their commands fail) before the next connection starts.
                await withDiscardingTaskGroup { group in
                    if !recovering.isEmpty { group.addTask { await self.recover(recovering) } }
                    await waitForLoss()
                }
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

    /// Connects and restores; returns the history channels to recover (their last positions).
    func connect() async throws -> [String: StreamPosition] {
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
        let wanted: [String] = state.withLock { state in
            state.subscriptions.restart(with: restore, extra: [configuration.probeChannel, configuration.inboxChannel(of: configuration.nodeID)])
        }
        let recovering = try await subscriberLoop.submit { self.reader.beginRecovery(of: restore) }.get()
        // Restore every channel (and the node's probe and inbox channels), in batches.
        state.withLock { state in
            state.publisher = publisher
            state.subscriber = subscriber
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
        let missing = state.withLock { $0.subscriptions.ready() }
        if !missing.isEmpty {
            subscriber.sendSubscription(["SUBSCRIBE"] + missing.map { configuration.channelPrefix + $0 })
        }
        subscriberLoop.execute {
            self.reader.lastActivity = .now()
            self.reader.probeDeadline = nil
        }
        return recovering
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

    func startProbing() {
        let period = min(configuration.probeInterval, configuration.probeTimeout, .seconds(1))
        subscriberLoop.scheduleRepeatedTask(initialDelay: period, delay: period) { [weak self] task in
            guard let self else { return task.cancel() }
            if self.state.withLock({ $0.closed }) { return task.cancel() }
            self.probeTick()
        }
    }

    func probeTick() {
        let now = NIODeadline.now()
        // No probe before the subscriber connection listens on the probe channel (a probe sent
        // while connecting would be lost, and taken for a silent connection).
        guard let publisher = livePublisher, isReady else {
            reader.probeDeadline = nil
            return
        }
        if let deadline = reader.probeDeadline {
            guard now > deadline else { return }
            reader.probeDeadline = nil
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
        guard now - reader.lastActivity > configuration.probeInterval else { return }
        reader.probeDeadline = now + configuration.probeTimeout
        reader.lastActivity = now
        publisher.send(["PUBLISH", configuration.probeChannel, "probe"]).whenFailure { _ in }
    }

    // MARK: - Closing

    public func close() async {
        let (waiters, connections, signal) = state.withLock { state in
            state.closed = true
            state.subscriptions.connectionLost()
            let waiters = state.subscriptions.removeAllWaiters()
            defer { state.lossSignal = nil }
            return (waiters, [state.subscriber, state.publisher].compactMap { $0 }, state.lossSignal)
        }
        delegate.withLock { $0 = nil }
        for waiter in waiters { waiter.resume(throwing: BrokerError.cannotSubscribe) }
        signal?.resume()
        for connection in connections {
            connection.close()
            try? await connection.closeFuture.get()
        }
    }
}
