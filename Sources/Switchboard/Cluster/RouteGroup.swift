/// A group of methods with one instance per socket: wsrpc's class routes. The group `kv` serves
/// `kv.get`, `kv.set`…; each socket gets its own instance on its first call to the group, whose
/// `initialize` runs before that call; calling `kv` alone runs `initialize` (its result is the
/// reply). Register it with `RPCRouter.register(group:_:)`; it is served on every protocol.
///
/// ```swift
/// actor KVRoute: RPCRouteGroup {
///     static let methodNames = ["get", "set"]
///     private var store: [String: JSONValue] = [:]
///
///     func call(_ method: String, payload: JSONObject, context: RPCContext) async throws -> JSONValue {
///         let key = payload["key"]?.stringValue ?? ""
///         switch method {
///         case "set": store[key] = payload["value"]; return true
///         default: return store[key] ?? nil
///         }
///     }
/// }
/// router.register(group: "kv") { KVRoute() }
/// ```
public protocol RPCRouteGroup: AnyObject, Sendable {
    /// The methods of the group, without the group's name (`get` for `kv.get`).
    static var methodNames: [String] { get }
    /// Runs once per socket, before its first call to the group (and again for each call of the
    /// bare group name). Default: does nothing and answers `null`.
    func initialize(context: RPCContext) async throws -> JSONValue
    /// Runs `method` (one of `methodNames`).
    func call(_ method: String, payload: JSONObject, context: RPCContext) async throws -> JSONValue
    /// The socket closed. Default: nothing.
    func socketClosed() async
}

extension RPCRouteGroup {
    public func initialize(context: RPCContext) async throws -> JSONValue { .null }
    public func socketClosed() async {}
}
