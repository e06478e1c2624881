import CoreMetrics
import Logging
import NIOCore
import Switchboard
import Synchronization

/// Subscribing and unsubscribing channels on a link's subscriber connection, and what it
/// receives: messages (handed to the broker's read path), confirmations, Redis's own
/// unsubscribes and redirections.
extension RedisShardLink {
    // MARK: - Subscribing

    func subscribe(channel: String) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            subscribe(channel: channel, waiter: continuation)
        }
    }

    /// Subscribes `channel`; `continuation` is resumed once Redis confirmed it (or the subscribe
    /// gave up).
    func subscribe(channel: String, waiter continuation: CheckedContinuation<Void, any Error>) {
        enum Next {
            case resume(Result<Void, any Error>)
            case wait(UInt64, RedisConnection?)
        }
        let next: Next = state.withLock { state in
            if state.closed { return .resume(.failure(BrokerError.cannotSubscribe)) }
            switch state.subscriptions.subscribe(channel, waiter: continuation) {
            case .active:
                return .resume(.success(()))
            case .wait(let id, let send):
                return .wait(id, send ? state.subscriber : nil)
            }
        }
        switch next {
        case .resume(let result):
            continuation.resume(with: result)
        case .wait(let id, let subscriber):
            logger.debug("subscribing", metadata: ["channel": "\(channel)", "now": "\(subscriber != nil)"])
            if let subscriber { sendSubscribe([naming.redisName(channel)], on: subscriber) }
            broker.subscriberLoop.scheduleTask(in: configuration.subscribeTimeout) {
                self.subscribeTimedOut(channel: channel, waiter: id)
            }
        }
    }

    /// The topology changed: hands back the channels this link holds whose slots another
    /// shard owns now, with whoever waits for them.
    func disown(where moved: (String) -> Bool) -> [(channel: String, waiters: [CheckedContinuation<Void, any Error>])] {
        let held = state.withLock { $0.subscriptions.held }
        let leaving = held.filter(moved)
        guard !leaving.isEmpty else { return [] }
        return state.withLock { $0.subscriptions.disown(leaving) }
    }

    func subscribeTimedOut(channel: String, waiter id: UInt64) {
        // A channel nobody waits for any more is given up: it is not restored on reconnection.
        let waiter = state.withLock { $0.subscriptions.timedOut(channel, id: id) }
        guard let waiter else { return }
        logger.warning("subscribe timed out: Redis did not confirm in time", metadata: ["channel": "\(channel)"])
        waiter.resume(throwing: BrokerError.cannotSubscribe)
    }

    /// Releases the channel: Redis is told `unsubscribeDelay` later unless the node wants it
    /// again by then. Once the UNSUBSCRIBE is sent the channel no longer counts as active.
    func unsubscribe(channel: String) {
        state.withLock { $0.subscriptions.unsubscribe(channel) }
        broker.subscriberLoop.scheduleTask(in: configuration.unsubscribeDelay) {
            let subscriber: RedisConnection? = self.state.withLock { state in
                state.subscriptions.releaseDue(channel) ? state.subscriber : nil
            }
            if let subscriber { self.sendUnsubscribe(self.naming.redisName(channel), on: subscriber) }
        }
    }

    /// Whether the link holds `channel` (wanted, or waited for): where a release goes.
    func holds(_ channel: String) -> Bool {
        state.withLock { $0.subscriptions.wanted.contains(channel) }
    }

    // MARK: - Pushes from the subscriber connection (on the subscriber loop)

    func received(_ push: RedisPush) {
        switch push {
        case .message(let redisChannel, let payload):
            Self.received(redisChannel: redisChannel, payload: payload, probe: probe, broker: broker)
        case .subscribed(let name, _):
            confirmed(name)
        case .unsubscribed(let name, _):
            guard let channel = naming.channel(of: name) else { return }
            let (resubscribe, forget) = state.withLock { state -> (RedisConnection?, Bool) in
                let next = state.subscriptions.unsubscribed(channel)
                return (next.resubscribe ? state.subscriber : nil, next.forget)
            }
            // Still wanted: either our own UNSUBSCRIBE crossed a new subscribe, or (on a cluster)
            // Redis dropped it because its slot moved. It is asked for again; if the slot moved,
            // Redis answers MOVED and the topology is read again, whose new owner restores it.
            if naming.sharded, resubscribe != nil {
                broker.topologyMayHaveChanged()
            }
            // Its read state is kept when the channel lives on another link now.
            if forget, !(broker.link(for: channel)?.holds(channel) ?? false) { broker.reader.forget(channel) }
            if let resubscribe { sendSubscribe([name], on: resubscribe) }
        case .error(let message):
            if RedisRedirection(message) != nil {
                logger.info("Redis redirected a subscription; reading the topology again", metadata: ["reply": "\(message)"])
                broker.topologyMayHaveChanged()
            } else {
                logger.warning("Redis refused a subscription command", metadata: ["reply": "\(message)"])
            }
        case .pong:
            break
        }
    }

    /// A message push: the probe's answer, a message to this node, or a channel's message. Reached
    /// from the connection without the link itself (see `connect`), so it is static.
    static func received(redisChannel: ByteBuffer, payload: ByteBuffer, probe: NIOLoopBoundBox<ProbeState>, broker: RedisBroker) {
        // Noted, not timed: the probe's tick reads the clock (not every message).
        probe.value.heard = true
        if equal(redisChannel, probe.value.probeBytes) {
            probe.value.deadline = nil
            return
        }
        if equal(redisChannel, probe.value.inboxBytes) {
            broker.reader.delegate?.receivedNodeMessage(payload)
            return
        }
        broker.deliver(redisChannel: redisChannel, payload: payload)
    }

    private static func equal(_ buffer: ByteBuffer, _ bytes: [UInt8]) -> Bool {
        !bytes.isEmpty && buffer.readableBytes == bytes.count && buffer.readableBytesView.elementsEqual(bytes)
    }

    func confirmed(_ name: String) {
        let own = state.withLock { $0.probeChannel == name || $0.inboxChannel == name }
        if own {
            finishRestoring(name)
            return
        }
        guard let channel = naming.channel(of: name) else { return }
        logger.debug("subscribed", metadata: ["channel": "\(channel)"])
        // A confirmation the node no longer wants is answered with an UNSUBSCRIBE: the channel
        // is not active meanwhile.
        let (waiters, unwanted, subscriber) = state.withLock { state in
            let next = state.subscriptions.confirmed(channel)
            return (next.waiters, next.unwanted, state.subscriber)
        }
        finishRestoring(channel)
        if unwanted, let subscriber { sendUnsubscribe(name, on: subscriber) }
        for waiter in waiters { waiter.resume() }
    }

    func finishRestoring(_ channel: String) {
        let done: CheckedContinuation<Void, any Error>? = state.withLock { state in
            guard state.subscriptions.restoredOne(channel) else { return nil }
            defer { state.restored = nil }
            return state.restored
        }
        done?.resume()
    }
}
