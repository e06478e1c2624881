/// A group of methods with one instance per socket: wsrpc's class routes. The group `kv` serves
/// `kv.get`, `kv.set`…; each socket gets its own instance on its first call to the group. The bare
/// name `kv` (and `kv.init`) runs `initialize` with the call's parameters, as wsrpc-aiohttp
/// resolves `kv` to `kv.init(**params)`; it is never run by itself. Register it with
/// `RPCRouter.register(group:_:)`; it is served on every protocol.
///
/// ```swift
/// actor KVRoute: RPCRouteGroup {
///     static let methodNames = ["get", "set"]
///     static let parameterNames = ["get": ["key"], "set": ["key", "value"]]
///     private var store: [String: JSONValue] = [:]
///
///     func call(_ method: String, payload: JSONObject, context: RPCContext) async throws -> JSONValue {
///         guard let key = payload["key"]?.stringValue else {
///             throw RPCError(code: RPCError.Code.invalidParams, message: "missing key", exceptionType: "TypeError")
///         }
///         switch method {
///         case "set": store[key] = payload["value"]; return true
///         default: return store[key] ?? nil
///         }
///     }
/// }
/// router.register(group: "kv") { KVRoute() }
/// ```
///
/// Names starting with `_` are never served (wsrpc's "Method masked"); a name the group does not
/// list answers wsrpc clients "Method not implemented".
public protocol RPCRouteGroup: AnyObject, Sendable {
    /// The methods of the group, without the group's name (`get` for `kv.get`).
    static var methodNames: [String] { get }
    /// Each method's parameter names in order (`"init"` for the bare name), so that parameters
    /// sent by position (`kv.get ["a"]`, as wsrpc.js users send them) reach it by name. Default:
    /// none (by name only).
    static var parameterNames: [String: [String]] { get }
    /// Runs for the bare group name (`kv`, `kv.init`) with its parameters. Default: answers `null`.
    func initialize(payload: JSONObject, context: RPCContext) async throws -> JSONValue
    /// Runs `method` (one of `methodNames`).
    func call(_ method: String, payload: JSONObject, context: RPCContext) async throws -> JSONValue
    /// The socket closed. Default: nothing.
    func socketClosed() async
}

extension RPCRouteGroup {
    public static var parameterNames: [String: [String]] { [:] }
    public func initialize(payload: JSONObject, context: RPCContext) async throws -> JSONValue { .null }
    public func socketClosed() async {}
}
