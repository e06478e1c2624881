public import Logging
public import NIOCore

/// What a subscribe means, once for every protocol: the join (and the node's broker subscription,
/// in the channel's one state machine), the channel's state, recovery from `since` on a history
/// channel, presence and `$join`; and its counterparts, unsubscribe and re-authorization.
extension Hub {
    /// Who subscribes: the socket's number on this node, its RPC side (its cluster-wide id, and
    /// messages to it), its identity, its event loop and logger.
    public struct Subscriber: Sendable {
        public let id: SocketID
        public let socket: RPCSocket
        public let identity: Identity
        public let eventLoop: any EventLoop
        public let logger: Logger

        public init(id: SocketID, socket: RPCSocket, identity: Identity, eventLoop: any EventLoop, logger: Logger) {
            self.id = id
            self.socket = socket
            self.identity = identity
            self.eventLoop = eventLoop
            self.logger = logger
        }
    }

    /// What a subscribe gave.
    public struct Subscribed: Sendable {
        /// Every channel and pattern the socket holds now: `{channel: [pattern, …]}`.
        public var subscriptions: JSONObject
        /// For a history channel: its position (`offset`, `epoch`), and after a recovery whether
        /// it got everything it missed (`recovered`, and the `reason` when not).
        public var stream: JSONObject
    }

    /// Subscribes a socket to `pattern` on `channel`: joins it (subscribing the node at the broker
    /// first if it holds no subscription to the channel; the reply may be sent once this
    /// returns, and a publish made after it reaches the socket), sends it the channel's state
    /// when `sendsState` and the pattern matches it, recovers what it missed since `since` on a
    /// history channel (held live messages follow: none lost, none twice), and records it in the
    /// channel's presence (announcing `$join`). Throws `BrokerError.cannotSubscribe` or
    /// `RPCError`; access is the caller's to check.
    public func subscribe(
        _ subscriber: Subscriber,
        channel: String,
        pattern: String = "*",
        since: StreamPosition? = nil,
        sendsState: Bool = true
    ) async throws -> Subscribed {
        let features = channels.features(for: channel)
        // A recovering socket holds the channel's live messages from before it joins until the
        // missed ones are out.
        let recovering = features.history != nil && since != nil ? sockets.socket(subscriber.id) : nil
        if let recovering { try? await subscriber.eventLoop.submit { recovering.hold(channel: channel) }.get() }
        let map: JSONObject
        do {
            map = try await join(subscriber.id, channel: channel, pattern: pattern)
        } catch {
            if let recovering { try? await subscriber.eventLoop.submit { recovering.release(channel: channel, after: nil) }.get() }
            throw error
        }
        if sendsState {
            await sendState(of: channel, matching: pattern, to: subscriber.socket, logger: subscriber.logger)
        }
        var stream = JSONObject()
        if features.history != nil {
            stream = await position(of: channel, pattern: pattern, since: since, socket: recovering, subscriber: subscriber)
        }
        if features.presence {
            let entry = PresenceEntry(socket: subscriber.socket.id, node: nodeID, user: subscriber.identity.userID, info: subscriber.identity.info)
            await joinPresence(subscriber.id, channel: channel, entry: entry, features: features, on: subscriber.eventLoop, logger: subscriber.logger)
        }
        return Subscribed(subscriptions: map, stream: stream)
    }

    /// Removes one pattern of a socket from a channel (releasing the channel at the broker when
    /// it is left empty); once the socket holds no pattern there it leaves the channel's
    /// presence. Returns every channel and pattern it still holds. Throws
    /// `BrokerError.cannotSubscribe` ("Invalid channel") when this node holds no subscription to
    /// the channel.
    public func unsubscribe(_ id: SocketID, channel: String, pattern: String = "*", on eventLoop: any EventLoop) async throws -> JSONObject {
        let map = try await leave(id, channel: channel, pattern: pattern)
        if map[channel] == nil, let entry = presence.remove(id, channel: channel) {
            await leftPresence(PresenceTracker.Membership(channel: channel, entry: entry), on: eventLoop)
        }
        return map
    }

    /// A socket's identity changed (`login`, `logout`, a refreshed token): it leaves the channels
    /// the new identity may not subscribe to, every pattern and its presence there. Returns the
    /// channels left. The broker releases and presence removals follow in `run()`.
    @discardableResult
    public func reauthorize(_ id: SocketID, as identity: Identity, access: AccessPolicy, on eventLoop: any EventLoop) -> [String] {
        var left: [String] = []
        var gone: [PresenceTracker.Membership] = []
        for member in channels.subscriptions(of: id) where !access.allows(identity, .subscribe, member.key) {
            let channel = member.key
            for pattern in (member.value.arrayValue ?? []).compactMap(\.stringValue) {
                if case .left(_, release: true) = channels.leave(id, channel: channel, pattern: pattern) {
                    enqueue(.release(channel))
                }
            }
            if let entry = presence.remove(id, channel: channel) { gone.append(.init(channel: channel, entry: entry)) }
            left.append(channel)
        }
        if !gone.isEmpty { enqueue(.leavePresence(gone, on: eventLoop)) }
        return left
    }

    // MARK: - Joining and leaving

    /// Subscribes a socket to `pattern` on `channel` in the registry, subscribing the node at the
    /// broker first if it holds no subscription to the channel yet. Returns every channel and
    /// pattern the socket holds. Throws `BrokerError.cannotSubscribe` or `RPCError`.
    public func join(_ id: SocketID, channel: String, pattern: String) async throws -> JSONObject {
        switch channels.beginJoin(id, channel: channel, pattern: pattern) {
        case .tooManySubscriptions:
            throw RPCError.tooManySubscriptions(limit: channels.limits.maxSubscriptionsPerSocket)
        case .ready:
            break
        case .wait:
            do {
                try await channels.waitForBroker(channel: channel)
            } catch {
                await abandon(channel)
                throw error
            }
        case .subscribe:
            do {
                try await broker.subscribe(channel: channel)
                channels.brokerSubscribed(channel: channel)
            } catch {
                channels.brokerFailed(channel: channel, error: error)
                await abandon(channel)
                throw error
            }
        }
        switch channels.completeJoin(id, channel: channel, pattern: pattern) {
        case .subscribed(let map):
            return map
        case .socketGone(let release):
            if release { await self.release(channel) }
            return JSONObject()
        case .tooManySubscriptions(let release):
            if release { await self.release(channel) }
            throw RPCError.tooManySubscriptions(limit: channels.limits.maxSubscriptionsPerSocket)
        }
    }

    private func abandon(_ channel: String) async {
        if channels.abandonJoin(channel: channel) {
            await release(channel)
        }
    }

    /// Removes one pattern of a socket from a channel in the registry; releases the channel at
    /// the broker when it is left empty. Throws `BrokerError.cannotSubscribe` when this node holds
    /// no subscription to the channel.
    public func leave(_ id: SocketID, channel: String, pattern: String) async throws -> JSONObject {
        switch channels.leave(id, channel: channel, pattern: pattern) {
        case .notHeld:
            throw BrokerError.cannotSubscribe
        case .left(let map, let release):
            if release { await self.release(channel) }
            return map
        }
    }

    /// Releases the node's broker subscription to `channel`, which the registry found empty, and
    /// subscribes it again when sockets joined meanwhile (they wait for that subscribe). The
    /// channel's state machine orders the two: a join never finds the channel active while it
    /// is being released.
    func release(_ channel: String) async {
        await broker.unsubscribe(channel: channel)
        guard channels.brokerUnsubscribed(channel: channel) == .subscribe else { return }
        do {
            try await broker.subscribe(channel: channel)
            channels.brokerSubscribed(channel: channel)
        } catch {
            channels.brokerFailed(channel: channel, error: error)
        }
    }

    // MARK: - State and recovery

    /// Sends `socket` the channel's state, if it has one whose event `pattern` matches. A state
    /// that cannot be read (the broker is down) is logged and skipped: the subscription stands.
    public func sendState(of channel: String, matching pattern: String, to socket: RPCSocket, logger: Logger) async {
        do {
            guard let state = try await state(of: channel), GlobPattern(pattern).matches(state.event ?? "") else { return }
            socket.send(channel: channel, event: state.event, rawData: state.rawData)
        } catch {
            logger.warning("cannot read the channel's state", metadata: ["channel": "\(channel)", "error": "\(error)"])
        }
    }

    /// For a history channel: its current position, and for a recovering socket the messages it
    /// missed (sent before the held live ones) and whether that was everything.
    private func position(of channel: String, pattern: String, since: StreamPosition?, socket: (any SocketHandle)?, subscriber: Subscriber) async -> JSONObject {
        guard let since else {
            guard let page = try? await history(channel: channel, limit: 0) else { return [:] }
            return page.position
        }
        var response: JSONObject = [:]
        var after: StreamOffset? = nil
        var missed: [HistoryMessage] = []
        var epoch: String? = nil
        do {
            let (messages, page, problem) = try await self.missed(channel: channel, since: since)
            response = page.position
            response["recovered"] = .bool(problem == nil)
            if let problem { response["reason"] = .string(problem) }
            let glob = GlobPattern(pattern)
            missed = messages.filter { glob.matches($0.event ?? "") }
            epoch = page.epoch
            after = messages.last?.offset ?? (problem == nil ? since.offset : nil)
        } catch {
            response["recovered"] = false
            response["reason"] = "the channel's history cannot be read now (the broker is unavailable)"
        }
        if let socket {
            let messages = missed.map { message in
                channels.message(
                    for: socket, channel: channel, event: message.event, rawData: message.rawData,
                    position: epoch.map { StreamPosition(offset: message.offset, epoch: $0) }
                )
            }
            let after = after
            try? await subscriber.eventLoop.submit {
                for message in messages { socket.enqueue(message) }
                socket.release(channel: channel, after: after)
            }.get()
        }
        subscriber.logger.debug("recovery", metadata: ["channel": "\(channel)", "missed": "\(missed.count)", "recovered": "\(response["recovered"] ?? .null)"])
        return response
    }
}

extension HistoryPage {
    /// `{"offset", "epoch"}` of the history (nulls when there is none yet).
    public var position: JSONObject {
        ["offset": latest.map { .string($0.description) } ?? .null, "epoch": epoch.map(JSONValue.string) ?? .null]
    }
}
