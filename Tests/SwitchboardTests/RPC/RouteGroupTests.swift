import NIOCore
import SwitchboardTesting
import Synchronization
import Testing

@testable import Switchboard

/// A key-value class route: one store per socket.
actor KVRoute: RPCRouteGroup {
    static let methodNames = ["get", "set", "_secret"]
    static let parameterNames = ["get": ["key"], "set": ["key", "value"], "init": ["mode"]]
    private var store: [String: JSONValue] = [:]
    private var inits: [JSONValue] = []

    func initialize(payload: JSONObject, context: RPCContext) async throws -> JSONValue {
        inits.append(payload["mode"] ?? .null)
        return ["ready": true, "modes": .array(inits)]
    }

    func call(_ method: String, payload: JSONObject, context: RPCContext) async throws -> JSONValue {
        guard let key = payload["key"]?.stringValue else { throw RPCError.invalidParameter("key", FieldProblem.required) }
        switch method {
        case "set":
            store[key] = payload["value"] ?? .null
            return true
        default:
            guard let value = store[key] else { throw RPCError(code: RPCError.Code.serverError, message: "'\(key)'", exceptionType: "KeyError") }
            return value
        }
    }
}

@Suite("Route groups (class routes)")
struct RouteGroupTests {
    static var router: RPCRouter {
        var router = RPCRouter.standard()
        router.register(group: "kv") { KVRoute() }
        return router
    }

    @Test("each socket gets its own instance; init is never run by itself")
    func perSocket() async throws {
        let a = try await SessionHarness(router: Self.router, id: 1, codec: WSRPCCodec())
        let b = try await SessionHarness(router: Self.router, id: 2, codec: WSRPCCodec())
        a.send(#"{"id": 3, "method": "kv.set", "params": {"key": "k", "value": "from a"}}"#)
        #expect(try await a.reply() == ["id": 3, "result": true])
        a.send(#"{"id": 5, "method": "kv.get", "params": {"key": "k"}}"#)
        #expect(try await a.reply() == ["id": 5, "result": "from a"])
        b.send(#"{"id": 3, "method": "kv.get", "params": {"key": "k"}}"#)
        #expect(try await b.reply() == ["id": 3, "error": ["type": "KeyError", "message": "'k'"]])
        // The bare group name runs init with its params (the first time now: the calls above did not).
        a.send(#"{"id": 7, "method": "kv", "params": {"mode": "test"}}"#)
        #expect(try await a.reply() == ["id": 7, "result": ["ready": true, "modes": ["test"]]])
        a.send(#"{"id": 9, "method": "kv.init", "params": ["again"]}"#)
        #expect(try await a.reply() == ["id": 9, "result": ["ready": true, "modes": ["test", "again"]]])
    }

    @Test("positional params reach a method that names its parameters")
    func positional() async throws {
        let harness = try await SessionHarness(router: Self.router, codec: WSRPCCodec())
        harness.send(#"{"id": 3, "method": "kv.set", "params": ["a", 1]}"#)
        #expect(try await harness.reply() == ["id": 3, "result": true])
        harness.send(#"{"id": 5, "method": "kv.get", "params": ["a"]}"#)
        #expect(try await harness.reply() == ["id": 5, "result": 1])
    }

    @Test("errors as wsrpc-aiohttp words them: wrong arguments TypeError, unknown and masked members NotImplementedError")
    func errors() async throws {
        let harness = try await SessionHarness(router: Self.router, codec: WSRPCCodec())
        harness.send(#"{"id": 5, "method": "kv.get", "params": {}}"#)
        #expect(try await harness.reply()["error"]?["type"] == "TypeError")
        harness.send(#"{"id": 7, "method": "kv.delete", "params": {}}"#)
        #expect(try await harness.reply()["error"] == ["type": "NotImplementedError", "message": "Method not implemented"])
        harness.send(#"{"id": 9, "method": "kv._secret", "params": {}}"#)
        #expect(try await harness.reply()["error"] == ["type": "NotImplementedError", "message": "Method masked"])
        #expect(!Self.router.methodNames.contains("kv._secret"))
    }

    @Test("get_methods lists the group's methods; the group answers on /stream too")
    func listed() async throws {
        let names = Self.router.methodNames
        #expect(names.contains("kv") && names.contains("kv.get") && names.contains("kv.set"))
        let stream = try await SessionHarness(router: Self.router)
        stream.send(#"{"id": "1", "method": "kv.set", "payload": {"key": "x", "value": [1]}}"#)
        #expect(try await stream.reply()["response"] == true)
        stream.send(#"{"id": "2", "method": "kv.nope"}"#)
        #expect(try await stream.reply()["error"] == ["message": "Invalid RPC parameters", "errors": ["method": "kv.nope method not available"]])
    }
}

@Suite("wsrpc keepalive")
struct KeepaliveTests {
    @Test("each pass calls the client's ping; an unanswered ping fails the pass once it is older than the timeout")
    func keepalive() async throws {
        let harness = try await SessionHarness(codec: WSRPCCodec())
        let start = NIODeadline.now()
        #expect(try await harness.withSession { $0.keepalive(method: "ping", timeout: .seconds(1), now: start) })
        let ping = try await harness.reply()
        #expect(ping["method"] == "ping")
        #expect(ping["params"]?["seq"]?.doubleValue != nil)
        let serial = try #require(ping["id"]?.intValue)
        #expect(serial == 2)
        harness.send(#"{"id": \#(serial), "result": \#(ping["params"]!.jsonString)}"#)
        try await harness.loop.submit {}.get()
        #expect(try await harness.withSession { $0.keepalive(method: "ping", timeout: .seconds(1), now: start + .seconds(1)) })
        #expect(try await harness.reply()["id"] == 4)
        // Unanswered: a pass soon after waits; one a whole timeout later says so.
        #expect(try await harness.withSession { $0.keepalive(method: "ping", timeout: .seconds(1), now: start + .milliseconds(1500)) })
        #expect(try await harness.withSession { $0.keepalive(method: "ping", timeout: .seconds(1), now: start + .seconds(2)) } == false)
    }
}
