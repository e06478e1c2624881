public import Switchboard

/// The application methods the interop and browser tests call, as the other libraries' own
/// examples use them: `subtract(a, b)`, `add(a, b)`, `refuse()` (a server-defined error), `area(x,
/// y)` (which calls the client's `multiply` and answers with its result), and the class route `kv`
/// (`kv.set {key, value}`, `kv.get {key}`: one store per socket).
public enum InteropRoutes {
    /// A key-value store per socket.
    public actor KeyValue: RPCRouteGroup {
        public static let methodNames = ["get", "set"]
        private var store: [String: JSONValue] = [:]

        public init() {}

        public func call(_ method: String, payload: JSONObject, context: RPCContext) async throws -> JSONValue {
            guard let key = payload["key"]?.stringValue else { throw RPCError.invalidParameter("key", FieldProblem.required) }
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
        router.register(group: "kv") { KeyValue() }
        return router
    }

    private static func arithmetic(_ payload: JSONObject, _ operation: (Int, Int) -> Int) throws -> JSONValue {
        var problems: [(field: String, problem: String)] = []
        for field in ["a", "b"] {
            switch payload[field] {
            case nil: problems.append((field, FieldProblem.required))
            case .number(let number)? where number.intValue != nil: break
            default: problems.append((field, FieldProblem.notValidType))
            }
        }
        guard problems.isEmpty, let a = payload["a"]?.intValue, let b = payload["b"]?.intValue else { throw RPCError.invalidParameters(problems) }
        return .number(JSONNumber(operation(a, b)))
    }
}
