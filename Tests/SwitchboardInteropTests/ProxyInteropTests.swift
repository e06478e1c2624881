import Switchboard
import SwitchboardClient
import SwitchboardProcesses
import SwitchboardServer
import SwitchboardTesting
import Testing

/// A stock node in front of the Python backend of `Examples/ProxyBackend` (aiohttp), judged by
/// aiohttp-json-rpc's and wsrpc-aiohttp's own clients (`Tests/Interop/proxy_clients.py`) and by
/// the Swift `/stream` client; then the backend is stopped under it.
@Suite("Interop: the backend proxies, with a Python backend", .enabled(if: InteropScript.python != nil, Comment(rawValue: InteropScript.requirement)))
struct ProxyInteropTests {
    static let apiKey = "proxy-test-key"
    static let secret = "proxy-test-secret-of-thirty-two-bytes!"

    static func configuration(backend: String, port: Int) async throws -> NodeConfiguration {
        var configuration = NodeConfiguration(port: port)
        configuration.security.apiKeys = [apiKey]
        configuration.security.policy = AccessPolicy(
            mode: .optional,
            channels: [
                ChannelRule(match: "open:*", subscribe: .proxy, publish: .proxy),
                ChannelRule(match: "user:*", subscribe: .proxy, publish: .server),
                ChannelRule(match: "lobby", subscribe: .any, publish: .any),
            ],
            verifier: try await JWTVerifier.load(hs256Secrets: [secret])
        )
        func endpoint(_ path: String) -> ProxyConfiguration.Endpoint {
            ProxyConfiguration.Endpoint(url: "\(backend)/\(path)", timeoutSeconds: 1)
        }
        configuration.proxy = ProxyConfiguration(connect: endpoint("connect"), rpc: endpoint("rpc"), subscribe: endpoint("subscribe"), publish: endpoint("publish"))
        return configuration
    }

    @Test("the other libraries' clients and the Swift client call Python methods; a stopped backend is a clear error")
    func pythonBackend() async throws {
        let nodePort = try PortReservation.freePortOutsideEphemeralRange()
        let backend = try await ExampleBackend.start(node: "http://127.0.0.1:\(nodePort)", apiKey: Self.apiKey)
        defer { backend.stop() }
        let node = try await TestNode.start(configuration: try await Self.configuration(backend: backend.url, port: nodePort))

        let outcome = try await InteropScript.run("proxy_clients.py", ["ws://127.0.0.1:\(node.port)", Self.apiKey])
        #expect(outcome.exitCode == 0, "\(outcome)\nbackend:\n\(backend.output)")
        #expect(!outcome.output.contains("FAIL"), "\(outcome)")

        // The Swift client, with a token (honoured alongside the connect proxy): the backend
        // sees its claims.
        let token = try await TestTokens.hs256(secret: Self.secret, sub: "carol", permissions: ["reader"])
        let client = try await SwitchboardClient.connect(to: node.url, configuration: ClientConfiguration(token: token))
        #expect(try await client.call("add", payload: ["a": 20, "b": 22]) == 42)
        let me = try await client.call("whoami", payload: ["k": [1, "two"]])
        #expect(me["user"] == "carol")
        #expect(me["claims"]?["sub"] == "carol")
        #expect(me["claims"]?["permissions"] == ["reader"])
        #expect(me["params"] == ["k": [1, "two"]])
        #expect(me["protocol"] == "stream")
        do {
            _ = try await client.call("charge", payload: ["amount": 9])
            Issue.record("charge succeeded")
        } catch let SwitchboardClientError.rpc(_, error) {
            #expect(error.code == 4001)
            #expect(error.message == "Insufficient funds")
            #expect(error.data == ["balance": 3, "asked": 9])
        }

        // The backend goes away: a clear error within the timeout; the node serves the rest.
        backend.stop()
        let started = ContinuousClock.now
        do {
            _ = try await client.call("add", payload: ["a": 1, "b": 1])
            Issue.record("a call to a stopped backend succeeded")
        } catch let SwitchboardClientError.rpc(_, error) {
            // A refused new connection ("Connection refused"), or the pooled one found closed
            // ("I/O on closed channel"): either way, within the timeout.
            #expect(error.message.hasPrefix("Backend unavailable (rpc proxy): cannot reach http://127.0.0.1:"), "\(error.message)")
        }
        #expect(ContinuousClock.now - started < .seconds(2))
        #expect(try await client.publish(channel: "lobby", data: "still here")["channel"] == "lobby")
        let refused = try await HTTPProbe.request("GET", "/stream", port: node.port, headers: [
            "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        ])
        #expect(refused.status == 502, "a connect the backend cannot answer is refused with 502: \(refused)")
        #expect(refused.body.contains("Backend unavailable (connect proxy)"), "\(refused.body)")
        let metrics = try await HTTPProbe.request("GET", "/metrics", port: node.port).body
        for line in [
            #"switchboard_proxy_errors_total{proxy="rpc",kind="unreachable"} 1"#,
            #"switchboard_proxy_errors_total{proxy="rpc",kind="timeout"} 1"#,
            #"switchboard_proxy_errors_total{proxy="rpc",kind="invalid"} 1"#,
            #"switchboard_proxy_errors_total{proxy="connect",kind="unreachable"} 1"#,
        ] {
            #expect(metrics.contains(line), "\(line) not in /metrics")
        }
        #expect(metrics.contains(#"switchboard_proxy_duration_seconds_count{proxy="rpc"}"#))
        await client.close()
        await node.stop()
    }
}
