import Switchboard
import SwitchboardProcesses
import SwitchboardServer
import SwitchboardTesting
import Testing

/// A node whose backend is not there: every proxy fails clearly within its timeout, and the node
/// serves everything else. (A real backend, with other libraries' clients: `ProxyInteropTests`.)
@Suite("Proxy: a backend that is down")
struct ProxyTests {
    static let secret = "proxy-tests-secret-of-thirty-two-bytes"

    static func node(connect: Bool) async throws -> TestNode {
        let nowhere = "http://127.0.0.1:\(try PortReservation.freePortOutsideEphemeralRange())"
        var configuration = NodeConfiguration(port: 0)
        configuration.security.policy = AccessPolicy(
            mode: .optional,
            channels: [ChannelRule(match: "room:*", subscribe: .proxy, publish: .any), ChannelRule(match: "lobby", subscribe: .any, publish: .any)],
            verifier: try await JWTVerifier.load(hs256Secrets: [secret])
        )
        func endpoint(_ path: String) -> ProxyConfiguration.Endpoint {
            ProxyConfiguration.Endpoint(url: "\(nowhere)/\(path)", timeoutSeconds: 0.5)
        }
        configuration.proxy = ProxyConfiguration(connect: connect ? endpoint("connect") : nil, rpc: endpoint("rpc"), subscribe: endpoint("subscribe"))
        return try await TestNode.start(configuration: configuration)
    }

    @Test("RPC and subscribe: 'Backend unavailable' with the reason within the timeout; the node's own methods and other channels work")
    func rpcAndSubscribe() async throws {
        let node = try await Self.node(connect: false)
        let socket = try await RawWebSocket.connect(node.url)
        let started = ContinuousClock.now
        let reply = try await socket.call(["id": "1", "method": "app.order", "payload": ["item": "tea"]])
        let message = reply["error"]?["message"]?.stringValue ?? ""
        #expect(message.hasPrefix("Backend unavailable (rpc proxy): cannot reach http://127.0.0.1:"), "\(reply)")
        #expect(ContinuousClock.now - started < .seconds(2))
        let refused = try await socket.call(["id": "2", "method": "subscribe", "payload": ["channel": "room:a"]])
        #expect(refused["error"]?["message"]?.stringValue?.hasPrefix("Backend unavailable (subscribe proxy): ") == true, "\(refused)")
        #expect(try await socket.call(["id": "3", "method": "subscribe", "payload": ["channel": "lobby"]])["response"] != nil)
        #expect(try await socket.call(["id": "4", "method": "publish", "payload": ["channel": "room:a", "data": "x"]])["response"] != nil)
        #expect(try await socket.call(["id": "5", "method": "session", "payload": [:]])["response"]?["user"] == .null)
        let metrics = try await HTTPProbe.request("GET", "/metrics", port: node.port).body
        #expect(metrics.contains(#"switchboard_proxy_errors_total{proxy="rpc",kind="unreachable"} 1"#))
        #expect(metrics.contains(#"switchboard_proxy_errors_total{proxy="subscribe",kind="unreachable"} 1"#))
        #expect(try await HTTPProbe.request("GET", "/readyz", port: node.port).status == 200)
        await socket.close()
        await node.stop()
    }

    @Test("connect: a backend that cannot answer refuses the upgrade with 502; a valid token is honoured without asking")
    func connect() async throws {
        let node = try await Self.node(connect: true)
        let upgrade = ["Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="]
        let refused = try await HTTPProbe.request("GET", "/stream", port: node.port, headers: upgrade.merging(["Cookie": "session=x"]) { $1 })
        #expect(refused.status == 502, "\(refused)")
        #expect(refused.body.contains("Backend unavailable (connect proxy): cannot reach"), "\(refused.body)")
        let token = try await TestTokens.hs256(secret: Self.secret, sub: "dana")
        let socket = try await RawWebSocket.connect(node.url, headers: [("Authorization", "Bearer \(token)")])
        #expect(try await socket.call(["id": "1", "method": "session", "payload": [:]])["response"]?["user"] == "dana")
        await socket.close()
        await node.stop()
    }
}
