import NIOCore
import NIOEmbedded
import NIOHTTP1
import Switchboard
import SwitchboardTesting
import Testing

@testable import SwitchboardServer

/// The first-request decision, without sockets: every rule of RFC 6455 §4.2.1 the node checks,
/// and the access checks before the upgrade.
@Suite("Handshake decision")
struct HandshakeTests {
    static let endpoints: [String: RPCEndpoint] = [:]

    static func head(_ uri: String = "/stream", method: HTTPMethod = .GET, headers extra: [(String, String)] = [], remove: [String] = []) -> HTTPRequestHead {
        var headers = HTTPHeaders([
            ("Host", "x"), ("Connection", "Upgrade"), ("Upgrade", "websocket"),
            ("Sec-WebSocket-Version", "13"), ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ])
        for name in remove { headers.remove(name: name) }
        for (name, value) in extra { headers.replaceOrAdd(name: name, value: value) }
        return HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: headers)
    }

    /// The status of a refusal, 101 for an acceptance, 0 for plain HTTP.
    static func status(_ head: HTTPRequestHead, security: SecurityConfiguration = SecurityConfiguration(), load: Handshake.Load = .init(connections: 0, connectionsFromAddress: 0)) -> Int {
        switch Handshake.decide(head, endpoints: ["/stream": TestEndpoint.stream], security: security, compression: true) {
        case .http: return 0
        case .accept: return Handshake.limitRefusal(load, security: security).map { Int($0.status.code) } ?? 101
        case .refuse(let refusal): return Int(refusal.status.code)
        }
    }

    @Test("what is not a WebSocket upgrade is plain HTTP, h2c included")
    func plain() {
        #expect(Self.status(Self.head(remove: ["Upgrade"])) == 0)
        #expect(Self.status(Self.head(headers: [("Upgrade", "h2c"), ("Connection", "Upgrade, HTTP2-Settings")])) == 0)
    }

    @Test("bad upgrades get their status: 404 wrong path, 405 not GET, 400 no Connection or key, 426 wrong version")
    func refusals() {
        #expect(Self.status(Self.head("/nope")) == 404)
        #expect(Self.status(Self.head(method: .POST)) == 405)
        #expect(Self.status(Self.head(method: .DELETE)) == 405)
        #expect(Self.status(Self.head(remove: ["Connection"])) == 400)
        #expect(Self.status(Self.head(remove: ["Sec-WebSocket-Key"])) == 400)
        #expect(Self.status(Self.head(headers: [("Sec-WebSocket-Key", "short")])) == 400)
        #expect(Self.status(Self.head(headers: [("Sec-WebSocket-Version", "8")])) == 426)
        #expect(Self.status(Self.head()) == 101)
        // RFC 6455 handshakes have no body: one announced is refused, not waited for.
        #expect(Self.status(Self.head(headers: [("Content-Length", "10")])) == 400)
        #expect(Self.status(Self.head(headers: [("Transfer-Encoding", "chunked")])) == 400)
        #expect(Self.status(Self.head(headers: [("Content-Length", "0")])) == 101)
        guard case .refuse(let refusal) = Handshake.decide(Self.head(headers: [("Sec-WebSocket-Version", "8")]), endpoints: ["/stream": TestEndpoint.stream], security: SecurityConfiguration(), compression: false) else {
            Issue.record("not refused")
            return
        }
        #expect(refusal.headers.contains { $0.0 == "Sec-WebSocket-Version" && $0.1 == "13" })
    }

    @Test("access before the upgrade: origins, limits, a required token")
    func access() {
        let origins = SecurityConfiguration(allowedOrigins: ["https://app.example.com", "*.example.org"])
        #expect(Self.status(Self.head(headers: [("Origin", "https://evil.com")]), security: origins) == 403)
        #expect(Self.status(Self.head(headers: [("Origin", "https://a.b.example.org")]), security: origins) == 101)
        #expect(Self.status(Self.head(headers: [("Origin", "https://example.org")]), security: origins) == 403)
        let limits = SecurityConfiguration(maxConnections: 10, maxConnectionsPerIP: 2)
        #expect(Self.status(Self.head(), security: limits, load: .init(connections: 10, connectionsFromAddress: 0)) == 503)
        #expect(Self.status(Self.head(), security: limits, load: .init(connections: 3, connectionsFromAddress: 2)) == 429)
        let required = SecurityConfiguration(policy: AccessPolicy(mode: .required))
        #expect(Self.status(Self.head(), security: required) == 401)
        #expect(Self.status(Self.head("/stream?token=a.b.c"), security: required) == 101)
    }

    @Test("the token comes from ?token=, Authorization: Bearer, or an offered subprotocol, which is answered")
    func tokens() {
        let empty = HTTPHeaders()
        #expect(Handshake.findToken(query: "x=1&token=a%2Eb.c", headers: empty, offered: []).token == "a.b.c")
        #expect(Handshake.findToken(query: "", headers: HTTPHeaders([("Authorization", "Bearer t.o.k")]), offered: []).token == "t.o.k")
        let offered = Handshake.findToken(query: "", headers: empty, offered: ["switchboard, h.p.s"])
        #expect(offered.token == "h.p.s" && offered.subprotocol == "switchboard")
        #expect(Handshake.findToken(query: "", headers: empty, offered: ["h.p.s"]).subprotocol == "h.p.s")
        #expect(Handshake.findToken(query: "", headers: empty, offered: ["chat"]) == (nil, "chat"))
    }

    @Test("the accept key of RFC 6455's example")
    func acceptKey() {
        #expect(WebSocketGate.accept("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }
}

/// One endpoint to decide against (it is never served).
enum TestEndpoint {
    static let stream = RPCEndpoint(
        path: "/stream",
        codec: StreamCodec(),
        router: RPCRouter(),
        node: NodeSockets(
            hub: Hub(backend: LocalBroker(eventLoop: EmbeddedEventLoop())),
            configuration: StreamConfiguration(),
            security: SecurityConfiguration(),
            codecs: nil,
            metrics: SwitchboardMetrics(),
            logger: TestNode.logger()
        )
    )
}
