import NIOCore
import Switchboard
import SwitchboardServer
import SwitchboardTesting
import Testing

/// wsrpc-aiohttp's own `WSRPCClient` (PyPI 4.1.1) against `/wsrpc` on two nodes of one real
/// redis-server: `Tests/Interop/wsrpc_client.py` does the checks.
@Suite("Interop: wsrpc-aiohttp's client", .enabled(if: InteropScript.python != nil, Comment(rawValue: InteropScript.requirement)))
struct WSRPCClientInteropTests {
    @Test("routes, class routes, calls back into the client, keepalive, events, POST /call across nodes")
    func realClient() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        let a = try await TestNode.start(redisURL: redis.url, methods: InteropRoutes.router)
        let fastPings = NodeConfiguration(port: 0, stream: StreamConfiguration(pingInterval: .milliseconds(300)))
        let b = try await TestNode.start(redisURL: redis.url, methods: InteropRoutes.router, configuration: fastPings)
        #expect(await a.waitUntilReady())
        #expect(await b.waitUntilReady())
        let outcome = try await InteropScript.run("wsrpc_client.py", ["ws://127.0.0.1:\(a.port)", "ws://127.0.0.1:\(b.port)"])
        #expect(outcome.exitCode == 0, "\(outcome)")
        #expect(!outcome.output.contains("FAIL"), "\(outcome)")
        await a.stop()
        await b.stop()
    }
}
