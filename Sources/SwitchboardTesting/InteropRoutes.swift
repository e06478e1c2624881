public import Switchboard

/// The application methods the interop and browser tests call, as the other libraries' own
/// examples use them: `subtract(a, b)`, `add(a, b)`, `refuse()` (a server-defined error), `area(x,
/// y)` (which calls the client's `multiply` and answers with its result), `sleep(seconds)` (answers
/// after that long), and the class route `kv` (`kv.set {key, value}`, `kv.get {key}`, `kv(mode)`: one
/// store per socket).
public enum InteropRoutes {
    /// A key-value store per socket.
    public actor KeyValue: RPCRouteGroup {
        public static let methodNames = ["get", "set"]
        public static let parameterNames = ["get": ["key"], "set": ["key", "value"], "init": ["mode"]]
        private var store: [String: JSONValue] = [:]
        private var mode: JSONValue = .null

        public init() {}

        /// `kv(mode=…)`: keeps the mode and answers it.
        public func initialize(payload: JSONObject, context: RPCContext) async throws -> JSONValue {
            mode = payload["mode"] ?? .null
            return ["mode": mode]
        }

        public func call(_ method: String, payload: JSONObject, context: RPCContext) async throws -> JSONValue {
            guard let key = payload["key"]?.stringValue else {
                throw RPCError(code: RPCError.Code.invalidParams, message: "\(method)() missing 1 required argument: 'key'")
            }
            if method == "set" {
                store[key] = payload["value"] ?? .null
                return true
            }
            return store[key] ?? .null
        }
    }

    /// The methods.
    public static var router: RPCRouter {
        var router = RPCRouter()
        router.register("subtract", parameters: ["a", "b"]) { (payload: JSONObject, _: RPCContext) async throws -> JSONValue in
            try arithmetic(payload) { $0 - $1 }
        }
        router.register("add", parameters: ["a", "b"]) { (payload: JSONObject, _: RPCContext) async throws -> JSONValue in
            try arithmetic(payload) { $0 + $1 }
        }
        router.register("refuse") { (_: JSONObject, _: RPCContext) async throws -> JSONValue in
            throw RPCError(code: -32050, message: "Computer says no.")
        }
        router.register("area", parameters: ["x", "y"]) { (payload: JSONObject, context: RPCContext) async throws -> JSONValue in
            try await context.socket.call("multiply", params: .object(payload), timeout: .seconds(5))
        }
        router.register("sleep", parameters: ["seconds"]) { (payload: JSONObject, _: RPCContext) async throws -> JSONValue in
            let seconds = payload["seconds"]?.doubleValue ?? 0
            guard (0...60).contains(seconds) else { throw RPCError(code: RPCError.Code.invalidParams, message: "'seconds' has to be between 0 and 60") }
            try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
            return .number(JSONNumber(seconds))
        }
        router.register(group: "kv") { KeyValue() }
        return router
    }

    /// Missing parameters are the node's standard error; a parameter of the wrong type gets the
    /// application's own message, as aiohttp-json-rpc's validators word it.
    private static func arithmetic(_ payload: JSONObject, _ operation: (Int, Int) -> Int) throws -> JSONValue {
        let missing = ["a", "b"].filter { payload[$0] == nil }
        guard missing.isEmpty else { throw RPCError.invalidParameters(missing.map { ($0, FieldProblem.required) }) }
        for field in ["a", "b"] where payload[field]?.intValue == nil {
            throw RPCError(code: RPCError.Code.invalidParams, message: "'\(field)' has to be 'int'")
        }
        return .number(JSONNumber(operation(payload["a"]?.intValue ?? 0, payload["b"]?.intValue ?? 0)))
    }
}
