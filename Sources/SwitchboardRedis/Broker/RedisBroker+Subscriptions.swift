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

    func subscribeTimedOut(channel: String, waiter id: UInt64) {
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

    func received(_ push: RedisPush) {
        switch push {
        case .message(let redisChannel, let payload):
            reader.lastActivity = .now()
            deliver(redisChannel: redisChannel, payload: payload)
        case .subscribed(let name, _):
            confirmed(name)
        case .unsubscribed(let name, _):
            guard let channel = channelName(name) else { return }
            let resubscribe: RedisConnection? = state.withLock { state in
                state.active.remove(channel)
                if !state.desired.contains(channel) { reader.forget(channel) }
                guard state.desired.contains(channel), !state.requested.contains(channel), let subscriber = state.subscriber else { return nil }
                state.requested.insert(channel)
                return subscriber
            }
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

    func finishRestoring(_ channel: String) {
        let done: CheckedContinuation<Void, any Error>? = state.withLock { state in
            guard state.restoring.remove(channel) != nil, state.restoring.isEmpty else { return nil }
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
