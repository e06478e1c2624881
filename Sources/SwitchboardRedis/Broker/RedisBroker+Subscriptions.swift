import CoreMetrics
import Logging
import NIOCore
import Switchboard
import Synchronization

/// Subscribing and unsubscribing channels on the subscriber connection, and what it receives:
/// messages (handed to the hub), confirmations, and Redis's own unsubscribes.
extension RedisBroker {
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
                subscriber?.sendSubscription(["SUBSCRIBE", configuration.channelPrefix + channel])
                subscriberLoop.scheduleTask(in: configuration.subscribeTimeout) {
                    self.subscribeTimedOut(channel: channel, waiter: id)
                }
            }
        }
    }

    func subscribeTimedOut(channel: String, waiter id: UInt64) {
        // A channel nobody waits for any more is given up: it is not restored on reconnection.
        let waiter = state.withLock { $0.subscriptions.timedOut(channel, id: id) }
        guard let waiter else { return }
        logger.warning("subscribe timed out: Redis did not confirm in time", metadata: ["channel": "\(channel)"])
        waiter.resume(throwing: BrokerError.cannotSubscribe)
    }

    /// Releases the channel: Redis is told about a second later (`unsubscribeDelay`) unless the
    /// node wants it again by then, so sockets that leave and rejoin do not churn Redis. Once the
    /// UNSUBSCRIBE is sent the channel no longer counts as active: a subscribe after it sends its
    /// own SUBSCRIBE and waits for Redis to confirm it (the two are ordered on the connection).
    public func unsubscribe(channel: String) async {
        state.withLock { $0.subscriptions.unsubscribe(channel) }
        subscriberLoop.scheduleTask(in: configuration.unsubscribeDelay) {
            let subscriber: RedisConnection? = self.state.withLock { state in
                state.subscriptions.releaseDue(channel) ? state.subscriber : nil
            }
            subscriber?.sendSubscription(["UNSUBSCRIBE", self.configuration.channelPrefix + channel])
        }
    }

    // MARK: - Pushes from the subscriber connection (on its event loop)

    func received(_ push: RedisPush) {
        switch push {
        case .message(let redisChannel, let payload):
            reader.lastActivity = .now()
            deliver(redisChannel: redisChannel, payload: payload)
        case .subscribed(let name, _):
            confirmed(name)
        case .unsubscribed(let name, _):
            guard let channel = channelName(name) else { return }
            let (resubscribe, forget) = state.withLock { state -> (RedisConnection?, Bool) in
                let next = state.subscriptions.unsubscribed(channel)
                return (next.resubscribe ? state.subscriber : nil, next.forget)
            }
            if forget { reader.forget(channel) }
            resubscribe?.sendSubscription(["SUBSCRIBE", name])
        case .pong:
            break
        }
    }

    func deliver(redisChannel: ByteBuffer, payload: ByteBuffer) {
        if redisChannel.readableBytes == probeBytes.count, redisChannel.readableBytesView.elementsEqual(probeBytes) {
            reader.probeDeadline = nil
            return
        }
        if redisChannel.readableBytes == inboxBytes.count, redisChannel.readableBytesView.elementsEqual(inboxBytes) {
            reader.delegate?.receivedNodeMessage(payload)
            return
        }
        guard let channel = reader.channelName(redisChannel, prefix: prefixBytes) else { return }
        metrics.messagesReceived.increment()
        let message: BrokerPayload.Message
        do {
            message = try BrokerPayload.decodeMessage(payload)
        } catch {
            metrics.messagesDropped.increment()
            reader.dropped += 1
            if reader.dropped <= 10 || reader.dropped % 1000 == 0 {
                logger.warning(
                    "dropped a malformed Redis message",
                    metadata: ["channel": "\(configuration.channelPrefix)\(channel)", "reason": "\(error)", "dropped_total": "\(reader.dropped)"]
                )
            }
            return
        }
        if let position = message.position, !reader.admit(channel: channel, event: message.event, rawData: message.rawData, position: position) {
            return
        }
        let delivered = reader.delegate?.deliver(channel: channel, event: message.event, rawData: message.rawData, position: message.position, into: &reader.batch) ?? 0
        metrics.messagesDelivered.increment(by: Int64(delivered))
    }

    func readComplete() {
        reader.batch.dispatch()
    }

    func confirmed(_ name: String) {
        if name == configuration.probeChannel || name == configuration.inboxChannel(of: nodeID) {
            finishRestoring(name)
            return
        }
        guard let channel = channelName(name) else { return }
        logger.debug("subscribed", metadata: ["channel": "\(channel)"])
        // A confirmation the node no longer wants is answered with an UNSUBSCRIBE: the channel
        // is not active meanwhile.
        let (waiters, unwanted, subscriber) = state.withLock { state in
            let next = state.subscriptions.confirmed(channel)
            return (next.waiters, next.unwanted, state.subscriber)
        }
        finishRestoring(channel)
        if unwanted { subscriber?.sendSubscription(["UNSUBSCRIBE", name]) }
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

    func channelName(_ redisChannel: String) -> String? {
        guard redisChannel.hasPrefix(configuration.channelPrefix) else { return nil }
        return String(redisChannel.dropFirst(configuration.channelPrefix.count))
    }
}
