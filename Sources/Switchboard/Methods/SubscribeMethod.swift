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
        return context.eventLoop.makeFutureWithTask {
            _ = try await context.askBackend(.subscribe, request.channel)
            let subscribed: Hub.Subscribed
            do {
                subscribed = try await context.hub.subscribe(context.subscriber, channel: request.channel, pattern: request.pattern, since: request.since)
            } catch {
                throw context.explain(error, channel: request.channel)
            }
            var response: JSONObject = ["subscribed": .object(subscribed.subscriptions)]
            for member in subscribed.stream { response[member.key] = member.value }
            return .object(response)
        }
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
            let map = try await context.hub.unsubscribe(context.socketID, channel: request.channel, pattern: request.pattern, on: context.eventLoop)
            return .object(["subscribed": .object(map)])
        }
    }
}
