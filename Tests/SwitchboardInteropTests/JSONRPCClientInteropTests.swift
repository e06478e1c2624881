import Switchboard
import SwitchboardServer
import SwitchboardTesting
import Testing

/// aiohttp-json-rpc's own `JsonRpcClient` (PyPI 0.13.3) against `/jsonrpc` on two nodes of one
/// real redis-server: `Tests/Interop/jsonrpc_client.py` does the checks.
@Suite("Interop: aiohttp-json-rpc's client", .enabled(if: InteropScript.python != nil, Comment(rawValue: InteropScript.requirement)))
struct JSONRPCClientInteropTests {
    @Test("get_methods, calls, errors, a topic across nodes, state, batches")
    func realClient() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        let configuration = NodeConfiguration(port: 0, topics: TopicCatalog(["news"]))
        let a = try await TestNode.start(redisURL: redis.url, methods: InteropRoutes.router, configuration: configuration)
        let b = try await TestNode.start(redisURL: redis.url, methods: InteropRoutes.router, configuration: configuration)
        #expect(await a.waitUntilReady())
        #expect(await b.waitUntilReady())
        let outcome = try await InteropScript.run("jsonrpc_client.py", ["ws://127.0.0.1:\(a.port)", "ws://127.0.0.1:\(b.port)"])
        #expect(outcome.exitCode == 0, "\(outcome)")
        #expect(!outcome.output.contains("FAIL"), "\(outcome)")
        await a.stop()
        await b.stop()
    }
}
