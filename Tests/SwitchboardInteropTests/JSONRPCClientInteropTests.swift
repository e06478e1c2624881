import Switchboard
import SwitchboardServer
import SwitchboardTesting
import Testing

/// aiohttp-json-rpc's own `JsonRpcClient` (PyPI 0.13.3) against `/jsonrpc` on two nodes of one
/// real redis-server: `Tests/Interop/jsonrpc_client.py` does the checks.
@Suite("Interop: aiohttp-json-rpc's client", .enabled(if: InteropScript.python != nil, Comment(rawValue: InteropScript.requirement)))
struct JSONRPCClientInteropTests {
    static var methods: RPCRouter {
        var methods = RPCRouter()
        methods.register("add", parameters: ["a", "b"]) { (payload: JSONObject, _: RPCContext) async throws -> JSONValue in
            guard let a = payload["a"]?.intValue, let b = payload["b"]?.intValue else {
                throw RPCError.invalidParameters([("a", FieldProblem.required), ("b", FieldProblem.required)].filter { payload[$0.0] == nil })
            }
            return .number(JSONNumber(a + b))
        }
        methods.register("refuse") { (_: JSONObject, _: RPCContext) async throws -> JSONValue in
            throw RPCError(code: -32050, message: "Computer says no.")
        }
        return methods
    }

    @Test("get_methods, calls, errors, a topic across nodes, state, batches")
    func realClient() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        let configuration = NodeConfiguration(port: 0, topics: TopicCatalog(["news"]))
        let a = try await TestNode.start(redisURL: redis.url, methods: Self.methods, configuration: configuration)
        let b = try await TestNode.start(redisURL: redis.url, methods: Self.methods, configuration: configuration)
        #expect(await a.waitUntilReady())
        #expect(await b.waitUntilReady())
        let outcome = try await InteropScript.run("jsonrpc_client.py", [a.httpURL.replacing("http://", with: "ws://"), b.httpURL.replacing("http://", with: "ws://")])
        #expect(outcome.exitCode == 0, "\(outcome)")
        #expect(!outcome.output.contains("FAIL"), "\(outcome)")
        await a.stop()
        await b.stop()
    }
}
