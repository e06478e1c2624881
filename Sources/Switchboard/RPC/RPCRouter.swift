import NIOCore

/// The RPC methods a node serves, by name, for every protocol. Method names are case-sensitive.
///
/// ```swift
/// struct Echo: Codable, Sendable { var message: String }
/// var router = RPCRouter.standard()
/// router.register("echo", parameters: ["message"]) { (payload: Echo, context) in payload }
/// ```
///
/// `parameters` names the parameters in order, so that JSON-RPC clients may send them by
/// position (`"params": ["hello"]`) as well as by name.
public struct RPCRouter: Sendable {
    /// A method with what the session needs to know of it, worked out once at registration
    /// (a class: a queued request holds one reference, not three existentials).
    final class Entry: Sendable {
        let method: any RPCMethod
        let raw: (any RawRPCMethod)?
        let takesParams: (any ParamsRPCMethod)?

        init(_ method: any RPCMethod) {
            self.method = method
            self.raw = method as? any RawRPCMethod
            self.takesParams = method as? any ParamsRPCMethod
        }
    }

    private var entries: [String: Entry] = [:]

    /// A router with no methods.
    public init() {}

    /// A router with the built-in methods: `publish`, `subscribe`, `unsubscribe`, `session`,
    /// `info` and its alias `server_info`. `nodeInfo` adds facts about the node to `info` under
    /// `"node"`.
    public static func standard(nodeInfo: (@Sendable () -> JSONObject)? = nil) -> RPCRouter {
        var router = RPCRouter()
        router.register("publish", PublishMethod())
        router.register("subscribe", SubscribeMethod())
        router.register("unsubscribe", UnsubscribeMethod())
        let info = InfoMethod(nodeInfo: nodeInfo)
        router.register("info", info)
        router.register("server_info", info)
        router.register("session", SessionMethod())
        return router
    }

    /// Adds (or replaces) a method.
    public mutating func register(_ name: String, _ method: any RPCMethod) {
        entries[name] = Entry(method)
    }

    /// Adds a method written as an `async` closure over the payload (by name).
    public mutating func register(
        _ name: String,
        parameters: [String] = [],
        handler: @escaping @Sendable (JSONObject, RPCContext) async throws -> JSONValue
    ) {
        register(name, AsyncRPCMethod(parameters: parameters, handler))
    }

    /// Adds a method with a typed (`Decodable`) payload and an `Encodable` result.
    public mutating func register<Payload: Decodable & Sendable, Result: Encodable & Sendable>(
        _ name: String,
        parameters: [String] = [],
        handler: @escaping @Sendable (Payload, RPCContext) async throws -> Result
    ) {
        register(name, CodableRPCMethod(parameters: parameters, handler))
    }

    /// Adds every method of `other`, replacing methods with the same name.
    public mutating func merge(_ other: RPCRouter) {
        entries.merge(other.entries) { _, new in new }
    }

    /// This router with `other`'s methods added (`other` wins on equal names).
    public func merging(_ other: RPCRouter) -> RPCRouter {
        var router = self
        router.merge(other)
        return router
    }

    /// The method registered under `name`.
    public func method(named name: String) -> (any RPCMethod)? {
        entries[name]?.method
    }

    func entry(named name: String) -> Entry? {
        entries[name]
    }

    /// Every registered name, sorted.
    public var methodNames: [String] { entries.keys.sorted() }
}
