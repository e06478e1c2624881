import Logging
public import NIOCore

/// `subscribe {channel, event?}` → `{"subscribed": {channel: [patterns]}}` for this socket.
///
/// The reply is sent once the node's broker subscription is active, so a publish made after
/// the reply is delivered, from any node. Subscribing twice is harmless. When the channel has a
/// state (a message published with `state: true`) that the pattern matches, the socket gets it
/// as a message before the reply.
public struct SubscribeMethod: RPCMethod {
    public init() {}

    public var parameterNames: [String] { ["channel", "event"] }

    public func call(payload: JSONObject, context: RPCContext) -> EventLoopFuture<JSONValue> {
        let request: SubscriptionPayload
        do {
            request = try SubscriptionPayload(payload)
        } catch {
            return context.eventLoop.makeFailedFuture(error)
        }
        guard ChannelName.isValid(request.channel) else {
            return context.eventLoop.makeFailedFuture(context.explain(BrokerError.cannotSubscribe, channel: request.channel))
        }
        do {
            try context.authorize(.subscribe, request.channel)
        } catch {
            return context.eventLoop.makeFailedFuture(error)
        }
        let manager = context.manager
        let features = manager.channels.features(for: request.channel)
        // A recovering socket holds the channel's live messages from before it joins until the
        // missed ones are out: none lost, none twice, in order.
        let recovering = features.history != nil && request.since != nil ? manager.sockets.socket(context.socketID) : nil
        recovering?.hold(channel: request.channel)
        return context.eventLoop.makeFutureWithTask {
            let map: JSONObject
            do {
                map = try await manager.join(context.socketID, channel: request.channel, pattern: request.pattern)
            } catch {
                if let recovering { try? await context.eventLoop.submit { recovering.release(channel: request.channel, after: nil) }.get() }
                throw context.explain(error, channel: request.channel)
            }
            await manager.sendState(of: request.channel, matching: request.pattern, to: context.socket, logger: context.logger)
            var response: JSONObject = ["subscribed": .object(map)]
            if features.history != nil {
                for member in await Self.position(of: request, socket: recovering, context: context) {
                    response[member.key] = member.value
                }
            }
            if features.presence {
                let entry = PresenceEntry(socket: context.socket.id, node: manager.nodeID, user: context.identity.userID, info: context.identity.info)
                await manager.joinPresence(context.socketID, channel: request.channel, entry: entry, features: features, on: context.eventLoop, logger: context.logger)
            }
            return .object(response)
        }
    }

    /// For a history channel: the channel's current position, and for a recovering socket the
    /// messages it missed (sent before the held live ones) and whether that was everything.
    private static func position(of request: SubscriptionPayload, socket: (any SocketHandle)?, context: RPCContext) async -> JSONObject {
        let manager = context.manager
        let channel = request.channel
        guard let since = request.since else {
            guard let page = try? await manager.history(channel: channel, limit: 0) else { return [:] }
            return Self.stream(page)
        }
        var response: JSONObject = [:]
        var after: StreamOffset? = nil
        var missed: [HistoryMessage] = []
        var epoch: String? = nil
        do {
            let (messages, page, problem) = try await manager.missed(channel: channel, since: since)
            response = Self.stream(page)
            response["recovered"] = .bool(problem == nil)
            if let problem { response["reason"] = .string(problem) }
            let pattern = GlobPattern(request.pattern)
            missed = messages.filter { pattern.matches($0.event ?? "") }
            epoch = page.epoch
            after = messages.last?.offset ?? (problem == nil ? since.offset : nil)
        } catch {
            response["recovered"] = false
            response["reason"] = "the channel's history cannot be read now (the broker is unavailable)"
        }
        if let socket {
            let messages = missed.map { message in
                manager.channels.message(
                    for: socket, channel: channel, event: message.event, rawData: message.rawData,
                    position: epoch.map { StreamPosition(offset: message.offset, epoch: $0) }
                )
            }
            let after = after
            try? await context.eventLoop.submit {
                for message in messages { socket.enqueue(message) }
                socket.release(channel: channel, after: after)
            }.get()
        }
        context.logger.debug("recovery", metadata: ["channel": "\(channel)", "missed": "\(missed.count)", "recovered": "\(response["recovered"] ?? .null)"])
        return response
    }

    /// `{"offset", "epoch"}` of a history (nulls when there is none yet).
    static func stream(_ page: HistoryPage) -> JSONObject {
        ["offset": page.latest.map { .string($0.description) } ?? .null, "epoch": page.epoch.map(JSONValue.string) ?? .null]
    }
}

/// `unsubscribe {channel, event?}` → the same map after removing that one pattern (`*` by
/// default). "Invalid channel" when this node holds no subscription to the channel.
public struct UnsubscribeMethod: RPCMethod {
    public init() {}

    public var parameterNames: [String] { ["channel", "event"] }

    public func call(payload: JSONObject, context: RPCContext) -> EventLoopFuture<JSONValue> {
        let request: SubscriptionPayload
        do {
            request = try SubscriptionPayload(payload)
        } catch {
            return context.eventLoop.makeFailedFuture(error)
        }
        return context.eventLoop.makeFutureWithTask {
            let map = try await context.manager.leave(context.socketID, channel: request.channel, pattern: request.pattern)
            if map[request.channel] == nil {
                await context.manager.leavePresence(context.socketID, channel: request.channel, on: context.eventLoop)
            }
            return .object(["subscribed": .object(map)])
        }
    }
}
