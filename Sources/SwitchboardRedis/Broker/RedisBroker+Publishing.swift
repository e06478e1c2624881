import CoreMetrics
import Logging
import NIOCore
import Switchboard
import Synchronization

/// Publishing (transient, with state, node inboxes) on the shard of each channel, following
/// Redis Cluster's redirections.
extension RedisBroker {
    public func publish(channel: String, event: String?, rawData: RawJSON, options: PublishOptions, on eventLoop: any EventLoop) -> EventLoopFuture<StreamPosition?> {
        if let history = options.history {
            return publish(channel: channel, event: event, rawData: rawData, history: history, stateTTL: options.stateTTL, on: eventLoop)
        }
        if let ttl = options.stateTTL {
            return publishState(channel: channel, event: event, rawData: rawData, ttl: ttl, on: eventLoop)
        }
        return publishTransient(channel: channel, event: event, rawData: rawData, on: eventLoop)
    }

    /// The socket's publish path: a message kept nowhere goes out with its reply calling
    /// `completion` directly (no promise); one with history or state through its future.
    public func publish(
        channel: String, event: String?, rawData: RawJSON, options: PublishOptions, on eventLoop: any EventLoop,
        completion: @escaping @Sendable (Result<StreamPosition?, any Error>) -> Void
    ) {
        guard options.history == nil, options.stateTTL == nil else {
            return publish(channel: channel, event: event, rawData: rawData, options: options, on: eventLoop).whenComplete(completion)
        }
        publishTransient(channel: channel, event: event, rawData: rawData, on: eventLoop, completion: completion)
    }

    /// The reply callback of a publish with nothing to send again (one Redis, no script): the
    /// reply goes straight to `completion`, with the position `position` reads from it.
    private func reply(
        to completion: @escaping @Sendable (Result<StreamPosition?, any Error>) -> Void,
        channel: String,
        on eventLoop: any EventLoop,
        position: @escaping @Sendable (RESPValue) -> StreamPosition? = { _ in nil }
    ) -> RedisCompletion {
        RedisCompletion(on: eventLoop) { result in
            switch result {
            case .success(let reply): completion(.success(position(reply)))
            case .failure(let error): completion(.failure(self.publishFailed(error, channel: channel)))
            }
        }
    }

    /// A failed publish, logged once here for both of `send(publish:…)`'s paths: a redirection from a single-Redis URL
    /// (it names a node of a cluster), a command Redis refused (OOM, a key of the wrong type, a
    /// script error), or a lost connection (which the reconnection logs report; debug here).
    func publishFailed(_ error: RedisError, channel: String) -> BrokerError {
        switch error {
        case .server(let message) where !naming.sharded && RedisRedirection(message) != nil:
            if warnedClusterNode.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged {
                logger.error("Redis answered MOVED: it is a node of a Redis Cluster; name the cluster with --redis redis+cluster://host:port,… (docs/redis-cluster.md)", metadata: ["reply": "\(message)"])
            }
        case .server(let message):
            logger.warning("Redis refused a publish", metadata: ["channel": "\(channel)", "error": "\(message)"])
        default:
            logger.debug("publish failed", metadata: ["channel": "\(channel)", "error": "\(error)"])
        }
        return BrokerError.cannotPublish
    }

    /// `publishTransient(…, completion:)` with a future.
    func publishTransient(channel: String, event: String?, rawData: RawJSON, on eventLoop: any EventLoop) -> EventLoopFuture<StreamPosition?> {
        let promise = eventLoop.makePromise(of: StreamPosition?.self)
        publishTransient(channel: channel, event: event, rawData: rawData, on: eventLoop, completion: promise.completeWith)
        return promise.futureResult
    }

    /// A PUBLISH (SPUBLISH on a cluster) of the message, nothing kept. On one Redis the command
    /// is written straight into the connection's outgoing buffer (no buffer of its own) and its
    /// reply calls `completion`; on a cluster it goes through `send(publish:…)`, which follows
    /// redirections.
    func publishTransient(
        channel: String, event: String?, rawData: RawJSON, on eventLoop: any EventLoop,
        completion: @escaping @Sendable (Result<StreamPosition?, any Error>) -> Void
    ) {
        guard ChannelName.isValid(channel), let publisher = publisher(for: channel) else {
            return completion(.failure(BrokerError.cannotPublish))
        }
        let prefix = configuration.channelPrefix
        if !naming.sharded, let room = RESPEncoder.publishRoom(prefix: prefix, channel: channel, event: event, rawData: rawData) {
            metrics.messagesPublished.increment()
            publisher.send(
                room: room,
                writing: { RESPEncoder.writePublish(prefix: prefix, channel: channel, event: event, rawData: rawData, into: &$0) },
                completion: reply(to: completion, channel: channel, on: eventLoop)
            )
            return
        }
        let command = naming.sharded
            ? RESPEncoder.command([naming.publishCommand, naming.redisName(channel)], last: BrokerPayload.encodeBytes(event: event, rawData: rawData))
            : RESPEncoder.publish(prefix: prefix, channel: channel, event: event, rawData: rawData)
        send(publish: command, channel: channel, on: publisher, replyOn: eventLoop, completion: completion)
    }

    /// `send(publish:…)` with a future.
    func send(
        publish command: ByteBuffer,
        channel: String,
        on publisher: RedisConnection,
        replyOn eventLoop: any EventLoop,
        position: @escaping @Sendable (RESPValue) -> StreamPosition? = { _ in nil },
        onNoScript: (@Sendable () -> ByteBuffer)? = nil
    ) -> EventLoopFuture<StreamPosition?> {
        let promise = eventLoop.makePromise(of: StreamPosition?.self)
        send(publish: command, channel: channel, on: publisher, replyOn: eventLoop, position: position, onNoScript: onNoScript, completion: promise.completeWith)
        return promise.futureResult
    }

    /// Sends a command that publishes to `channel`; `completion` gets (on `eventLoop`) the
    /// position `position` reads from the reply (none by default), or `cannotPublish`. On a cluster a
    /// `MOVED` or `ASK` answer sends it again where Redis says (at most twice); replies on one
    /// connection come in order, so one publisher's messages on one channel keep their order.
    /// - Parameter onNoScript: for an EVALSHA, the same command as an EVAL, sent once if Redis
    ///   answers NOSCRIPT (its script cache was flushed, or it is a new server).
    func send(
        publish command: ByteBuffer,
        channel: String,
        on publisher: RedisConnection,
        replyOn eventLoop: any EventLoop,
        position: @escaping @Sendable (RESPValue) -> StreamPosition? = { _ in nil },
        onNoScript: (@Sendable () -> ByteBuffer)? = nil,
        completion: @escaping @Sendable (Result<StreamPosition?, any Error>) -> Void
    ) {
        metrics.messagesPublished.increment()
        guard naming.sharded || onNoScript != nil else {
            // One Redis and no script to send again: no redirection or retry to follow, so the
            // reply goes straight to `completion` (one callback, nothing kept for a resend).
            publisher.send(encoded: command, completion: reply(to: completion, channel: channel, on: eventLoop, position: position))
            return
        }
        let logger = self.logger
        // Kept for a redirection, which only a cluster sends.
        let resend: ByteBuffer? = naming.sharded ? command : nil
        @Sendable func complete(_ result: Result<RESPValue, RedisError>, on connection: RedisConnection, command: ByteBuffer?, retry: (@Sendable () -> ByteBuffer)?, hops: Int) {
            switch result {
            case .success(let reply):
                completion(.success(position(reply)))
            case .failure(.server(let message)) where retry != nil && message.hasPrefix("NOSCRIPT"):
                let again = retry!()
                connection.send(encoded: again, completion: RedisCompletion(on: eventLoop) { complete($0, on: connection, command: again, retry: nil, hops: hops) })
            case .failure(.server(let message)) where hops < 2 && RedisRedirection(message) != nil:
                let redirection = RedisRedirection(message)!
                guard let command else {
                    // A single-Redis URL that names a node of a Redis Cluster.
                    completion(.failure(publishFailed(.server(message), channel: channel)))
                    return
                }
                guard let target = redirected(redirection, from: connection) else {
                    logger.debug("publish redirected to a shard not connected yet", metadata: ["channel": "\(channel)", "reply": "\(message)"])
                    completion(.failure(BrokerError.cannotPublish))
                    return
                }
                if redirection.kind == .ask { target.send(encoded: RESPEncoder.encode(["ASKING"]), completion: RedisCompletion(on: eventLoop) { _ in }) }
                target.send(encoded: command, completion: RedisCompletion(on: eventLoop) { complete($0, on: target, command: command, retry: retry, hops: hops + 1) })
            case .failure(let error):
                completion(.failure(publishFailed(error, channel: channel)))
            }
        }
        publisher.send(encoded: command, completion: RedisCompletion(on: eventLoop) { complete($0, on: publisher, command: resend, retry: onNoScript, hops: 0) })
    }

    /// Where a redirected command goes now: the target's publishing connection, when the node
    /// has a link to it. A `MOVED` asks for a topology read (which moves the subscriptions too).
    func redirected(_ redirection: RedisRedirection, from connection: RedisConnection) -> RedisConnection? {
        let address = RedisNodeAddress(host: redirection.host ?? connection.url.host, port: redirection.port)
        if redirection.kind == .moved { topologyMayHaveChanged() }
        return state.withLock { $0.links[address] }?.livePublisher
    }

    // MARK: - Node inboxes

    public func send(toNode nodeID: String, message: ByteBuffer) async throws -> Int {
        let inbox = naming.redisName(ChannelName.reservedPrefix + nodeID)
        guard let publisher = link(forRedisName: inbox)?.livePublisher else { throw BrokerError.cannotPublish }
        let reply = try await publisher.send([ByteBuffer(string: naming.publishCommand), ByteBuffer(string: inbox), message]).get()
        return Int(reply.integer ?? 0)
    }

    // MARK: - Channel state

    /// The key of a channel's state; the channel is its hash tag, so that on Redis Cluster it
    /// lives on the shard of the channel's other keys.
    func stateKey(_ channel: String) -> String {
        "\(configuration.channelPrefix)state:{\(channel)}"
    }

    /// Keeps the message as the channel's state for `ttl` seconds, and publishes it, in one
    /// step on the Redis server.
    func publishState(channel: String, event: String?, rawData: RawJSON, ttl: Int, on eventLoop: any EventLoop) -> EventLoopFuture<StreamPosition?> {
        guard ChannelName.isValid(channel), let publisher = publisher(for: channel) else {
            return eventLoop.makeFailedFuture(BrokerError.cannotPublish)
        }
        let payload = ByteBuffer(bytes: BrokerPayload.encodeBytes(event: event, rawData: rawData))
        var command = ByteBuffer()
        RESPEncoder.write(
            [
                ByteBuffer(string: "EVAL"), ByteBuffer(string: naming.sharded ? RedisScripts.publishStateSharded : RedisScripts.publishState),
                ByteBuffer(string: "1"), ByteBuffer(string: stateKey(channel)), ByteBuffer(string: naming.redisName(channel)), payload,
                ByteBuffer(string: "\(ttl)"),
            ],
            into: &command
        )
        return send(publish: command, channel: channel, on: publisher, replyOn: eventLoop)
    }

    public func state(of channel: String) async throws -> ChannelState? {
        guard let publisher = publisher(for: channel) else { throw BrokerError.cannotSubscribe }
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
