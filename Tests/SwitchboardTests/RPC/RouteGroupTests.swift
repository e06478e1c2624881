import NIOCore
import SwitchboardTesting
import Synchronization
import Testing

@testable import Switchboard

/// A key-value class route: one store per socket.
actor KVRoute: RPCRouteGroup {
    static let methodNames = ["get", "set"]
    private var store: [String: JSONValue] = [:]
    private var initialized = 0

    func initialize(context: RPCContext) async throws -> JSONValue {
        initialized += 1
        return ["ready": true, "times": .number(JSONNumber(initialized))]
    }

    func call(_ method: String, payload: JSONObject, context: RPCContext) async throws -> JSONValue {
        guard let key = payload["key"]?.stringValue else { throw RPCError.invalidParameter("key", FieldProblem.required) }
        switch method {
        case "set":
            store[key] = payload["value"] ?? .null
            return true
        default:
            return store[key] ?? .null
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

    @Test("each socket gets its own instance, initialized before its first call")
    func perSocket() async throws {
        let a = try await SessionHarness(router: Self.router, id: 1, codec: WSRPCCodec())
        let b = try await SessionHarness(router: Self.router, id: 2, codec: WSRPCCodec())
        a.send(#"{"id": 3, "method": "kv.set", "params": {"key": "k", "value": "from a"}}"#)
        #expect(try await a.reply() == ["id": 3, "result": true])
        a.send(#"{"id": 5, "method": "kv.get", "params": {"key": "k"}}"#)
        #expect(try await a.reply() == ["id": 5, "result": "from a"])
        b.send(#"{"id": 3, "method": "kv.get", "params": {"key": "k"}}"#)
        #expect(try await b.reply() == ["id": 3, "result": nil])
        // The bare group name runs initialize again (the first run happened on the first call).
        a.send(#"{"id": 7, "method": "kv"}"#)
        let reply = try await a.reply()
        #expect(reply == ["id": 7, "result": ["ready": true, "times": 2]], "\(reply)")
    }

    @Test("a first call to the bare group name initializes once; errors of the group reach the caller")
    func bareFirst() async throws {
        let harness = try await SessionHarness(router: Self.router, codec: WSRPCCodec())
        harness.send(#"{"id": 3, "method": "kv"}"#)
        #expect(try await harness.reply() == ["id": 3, "result": ["ready": true, "times": 1]])
        harness.send(#"{"id": 5, "method": "kv.get", "params": {}}"#)
        #expect(try await harness.reply()["error"]?["type"] == "ValueError")
        harness.send(#"{"id": 7, "method": "kv.delete", "params": {}}"#)
        #expect(try await harness.reply()["error"]?["type"] == "NotImplementedError")
    }

    @Test("get_methods lists the group's methods; the group answers on /stream too")
    func listed() async throws {
        let names = Self.router.methodNames
        #expect(names.contains("kv") && names.contains("kv.get") && names.contains("kv.set"))
        let stream = try await SessionHarness(router: Self.router)
        stream.send(#"{"id": "1", "method": "kv.set", "payload": {"key": "x", "value": [1]}}"#)
        #expect(try await stream.reply()["response"] == true)
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
