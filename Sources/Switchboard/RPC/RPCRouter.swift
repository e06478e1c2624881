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
        let requirement: MethodRequirement

        init(_ method: any RPCMethod, requirement: MethodRequirement) {
            self.method = method
            self.raw = method as? any RawRPCMethod
            self.takesParams = method as? any ParamsRPCMethod
            self.requirement = requirement
        }
    }

    private var entries: [String: Entry] = [:]
    /// Where calls of names no one registered go, when the application's backend takes them.
    private var forwarding: (backend: any BackendProxy, entry: Entry)?
    /// The names of the route groups (`kv` for `kv.get`).
    var groups: Set<String> = []

    /// A router with no methods.
    public init() {}

    /// A router with the built-in methods: `publish`, `subscribe`, `unsubscribe`, `session`,
    /// `login`, `logout`, `info` and its alias `server_info`. `nodeInfo` adds facts about the node to `info` under
    /// `"node"`.
    public static func standard(nodeInfo: (@Sendable () -> JSONObject)? = nil) -> RPCRouter {
        var router = RPCRouter()
        router.register("publish", PublishMethod())
        router.register("subscribe", SubscribeMethod())
        router.register("unsubscribe", UnsubscribeMethod())
        router.register("history", HistoryMethod())
        router.register("presence", PresenceMethod())
        router.register("presence_stats", PresenceMethod(statsOnly: true))
        let info = InfoMethod(nodeInfo: nodeInfo)
        router.register("info", info)
        router.register("server_info", info)
        router.register("session", SessionMethod())
        router.register("login", LoginMethod())
        router.register("logout", LogoutMethod())
        return router
    }

    /// Adds (or replaces) a method; `requires` says who may call it (others do not see it).
    public mutating func register(_ name: String, requires: MethodRequirement = .anyone, _ method: any RPCMethod) {
        entries[name] = Entry(method, requirement: requires)
    }

    /// Adds a method written as an `async` closure over the payload (by name).
    public mutating func register(
        _ name: String,
        parameters: [String] = [],
        requires: MethodRequirement = .anyone,
        handler: @escaping @Sendable (JSONObject, RPCContext) async throws -> JSONValue
    ) {
        register(name, requires: requires, AsyncRPCMethod(parameters: parameters, handler))
    }

    /// Adds a method with a typed (`Decodable`) payload and an `Encodable` result.
    public mutating func register<Payload: Decodable & Sendable, Result: Encodable & Sendable>(
        _ name: String,
        parameters: [String] = [],
        requires: MethodRequirement = .anyone,
        handler: @escaping @Sendable (Payload, RPCContext) async throws -> Result
    ) {
        register(name, requires: requires, CodableRPCMethod(parameters: parameters, handler))
    }

    /// Adds every method of `other`, replacing methods with the same name (and its
    /// forwarding, if it has one).
    public mutating func merge(_ other: RPCRouter) {
        entries.merge(other.entries) { _, new in new }
        groups.formUnion(other.groups)
        if let forwarding = other.forwarding { self.forwarding = forwarding }
    }

    /// Sends calls of names no one registered to the application's backend, when it takes
    /// them (`BackendProxy.forwards(method:)`); the methods registered here stay the node's.
    public mutating func forwardUnknownMethods(to backend: any BackendProxy) {
        forwarding = (backend, Entry(ProxiedMethod(backend: backend), requirement: .anyone))
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

    /// The entry `identity` may call under `name` (`nil` when there is none, or it is hidden);
    /// the identity is read only for a method that asks something of it (a session's identity is
    /// not copied per request for nothing).
    func entry(named name: String, for identity: () -> Identity) -> Entry? {
        guard let entry = entries[name] else { return forwarded(named: name) }
        return permitted(entry, for: identity)
    }

    /// The backend's entry for a name no one registered here, when the backend takes it.
    func forwarded(named name: String) -> Entry? {
        guard let forwarding, forwarding.backend.forwards(method: name) else { return nil }
        return forwarding.entry
    }

    /// The method registered under `name`, before any identity is checked (`permitted`).
    func registered(named name: String) -> Entry? {
        entries[name]
    }

    /// `entry` when `identity` may call it, `nil` when it is hidden from it.
    func permitted(_ entry: Entry, for identity: () -> Identity) -> Entry? {
        if case .anyone = entry.requirement { return entry }
        guard entry.requirement.allows(identity()) else { return nil }
        return entry
    }

    /// The error for `name`, which `identity` cannot call: "no such method", which wsrpc clients
    /// read as wsrpc-aiohttp words it for a class route's member ("Method masked" for a name
    /// starting with `_`, else "Method not implemented").
    func unknownMethodError(_ name: String) -> RPCError {
        var error = RPCError.unknownMethod(name)
        if let dot = name.firstIndex(of: "."), groups.contains(String(name[..<dot])) {
            error.exceptionMessage = name[name.index(after: dot)...].hasPrefix("_") ? "Method masked" : "Method not implemented"
        }
        return error
    }

    /// Every registered name, sorted.
    public var methodNames: [String] { entries.keys.sorted() }

    /// The names `identity` may call, sorted.
    public func methodNames(for identity: Identity) -> [String] {
        entries.filter { $0.value.requirement.allows(identity) }.keys.sorted()
    }
}
