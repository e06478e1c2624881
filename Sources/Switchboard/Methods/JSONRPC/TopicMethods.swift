import NIOCore

extension RPCRouter {
    /// The built-in methods of JSON-RPC as aiohttp-json-rpc serves them: `get_methods`,
    /// `get_topics`, `get_subscriptions`, and `subscribe`/`unsubscribe` taking a topic or a list
    /// of topics. Topics are channels: a topic's messages reach its subscribers as notifications
    /// `{"jsonrpc": "2.0", "method": <topic>, "params": <data>}`.
    public static func jsonRPC(topics: TopicCatalog) -> RPCRouter {
        var router = RPCRouter()
        router.register("get_methods", GetMethodsMethod())
        router.register("get_topics", GetTopicsMethod(catalog: topics))
        router.register("get_subscriptions", GetSubscriptionsMethod())
        router.register("subscribe", TopicSubscribeMethod(catalog: topics))
        router.register("unsubscribe", TopicUnsubscribeMethod())
        return router
    }
}

/// `get_methods` → the names of the methods this connection may call, sorted.
struct GetMethodsMethod: RPCMethod {
    func call(payload: JSONObject, context: RPCContext) -> EventLoopFuture<JSONValue> {
        context.eventLoop.makeSucceededFuture(.array(context.router.methodNames(for: context.identity).map(JSONValue.string)))
    }
}

/// `get_topics` → the declared topics this connection may subscribe to (empty when every channel
/// is a topic).
struct GetTopicsMethod: RPCMethod {
    let catalog: TopicCatalog

    func call(payload: JSONObject, context: RPCContext) -> EventLoopFuture<JSONValue> {
        let allowed = catalog.topics.filter { context.access.allows(context.identity, .subscribe, $0) }
        return context.eventLoop.makeSucceededFuture(.array(allowed.map(JSONValue.string)))
    }
}

/// `get_subscriptions` → the topics this connection holds, in the order it subscribed.
struct GetSubscriptionsMethod: RPCMethod {
    func call(payload: JSONObject, context: RPCContext) -> EventLoopFuture<JSONValue> {
        context.eventLoop.makeSucceededFuture(Self.topics(of: context))
    }

    static func topics(of context: RPCContext) -> JSONValue {
        .array(context.hub.channels.subscriptions(of: context.socketID).keys.map(JSONValue.string))
    }
}

/// The topics named by a `subscribe`/`unsubscribe` call: one topic, a list, or `{"topics": …}`
/// (or `{"topic": …}`) by name. Entries that are not strings are left out.
func topicNames(_ params: RPCParams) -> [String] {
    func names(_ value: JSONValue?) -> [String] {
        switch value {
        case .string(let name)?: [name]
        case .array(let values)?: values.compactMap(\.stringValue)
        default: []
        }
    }
    switch params {
    case .none: return []
    case .value(let value): return names(value)
    case .array(let values): return values.compactMap(\.stringValue)
    case .object:
        let object = params.value.objectValue ?? JSONObject()
        return names(object["topics"] ?? object["topic"])
    }
}

/// `subscribe` (a topic or a list) → every topic the connection now holds. Topics it may not
/// subscribe to (undeclared, or refused by the access rules) are left out silently, as the
/// reference does; a topic with a state sends it to the subscriber at once, as a notification,
/// before the reply. A topic is a channel: the hub's one subscribe, presence and `$join`
/// included.
struct TopicSubscribeMethod: ParamsRPCMethod {
    let catalog: TopicCatalog

    func call(params: RPCParams, context: RPCContext) -> EventLoopFuture<JSONValue> {
        let topics = topicNames(params).filter { catalog.admits($0) && context.access.allows(context.identity, .subscribe, $0) }
        return context.eventLoop.makeFutureWithTask {
            for topic in topics {
                // A topic the backend refuses is left out, as the rules' refusals are.
                do { _ = try await context.askBackend(.subscribe, topic) } catch { continue }
                _ = try await context.hub.subscribe(context.subscriber, channel: topic)
            }
            return GetSubscriptionsMethod.topics(of: context)
        }
    }
}

/// `unsubscribe` (a topic or a list) → the topics the connection still holds. Topics it does
/// not hold are ignored.
struct TopicUnsubscribeMethod: ParamsRPCMethod {
    func call(params: RPCParams, context: RPCContext) -> EventLoopFuture<JSONValue> {
        let topics = topicNames(params)
        return context.eventLoop.makeFutureWithTask {
            for topic in topics {
                _ = try? await context.hub.unsubscribe(context.socketID, channel: topic, on: context.eventLoop)
            }
            return GetSubscriptionsMethod.topics(of: context)
        }
    }
}
