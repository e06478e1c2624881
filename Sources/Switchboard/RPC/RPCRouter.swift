/// The RPC methods a node serves, by name. Method names are case-sensitive.
///
/// ```swift
/// struct Echo: Codable, Sendable { var message: String }
/// var router = RPCRouter.standard()
/// router.register("echo") { (payload: Echo, context) in payload }
/// ```
public struct RPCRouter: Sendable {
    private var methods: [String: any RPCMethod] = [:]

    /// A router with no methods.
    public init() {}

    /// A router with the built-in methods: `publish`, `subscribe`, `unsubscribe`, `info` and
    /// its alias `server_info`. `nodeInfo` adds facts about the node to `info` under `"node"`.
    public static func standard(nodeInfo: (@Sendable () -> JSONObject)? = nil) -> RPCRouter {
        var router = RPCRouter()
        router.register("publish", PublishMethod())
        router.register("subscribe", SubscribeMethod())
        router.register("unsubscribe", UnsubscribeMethod())
        let info = InfoMethod(nodeInfo: nodeInfo)
        router.register("info", info)
        router.register("server_info", info)
        return router
    }

    /// Adds (or replaces) a method.
    public mutating func register(_ name: String, _ method: any RPCMethod) {
        methods[name] = method
    }

    /// Adds a method written as an `async` closure over the raw payload.
    public mutating func register(
        _ name: String,
        handler: @escaping @Sendable (JSONObject, RPCContext) async throws -> JSONValue
    ) {
        register(name, AsyncRPCMethod(handler))
    }

    /// Adds a method with a typed (`Decodable`) payload and an `Encodable` result.
    public mutating func register<Payload: Decodable & Sendable, Result: Encodable & Sendable>(
        _ name: String,
        handler: @escaping @Sendable (Payload, RPCContext) async throws -> Result
    ) {
        register(name, CodableRPCMethod(handler))
    }

    /// Adds every method of `other`, replacing methods with the same name.
    public mutating func merge(_ other: RPCRouter) {
        methods.merge(other.methods) { _, new in new }
    }

    /// The method registered under `name`.
    public func method(named name: String) -> (any RPCMethod)? {
        methods[name]
    }

    /// Every registered name, sorted.
    public var methodNames: [String] { methods.keys.sorted() }
}
