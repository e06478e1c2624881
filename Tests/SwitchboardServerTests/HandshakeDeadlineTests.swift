import Foundation
import NIOCore
import NIOSSL
import Switchboard
import SwitchboardServer
import SwitchboardTesting
import Synchronization
import Testing

/// Connections that never finish their handshake are closed at the handshake deadline, whatever
/// they stopped at (TLS, headers, a body, a token check), and pending handshakes count against
/// the connection limits (security findings 1, 2 and 7).
@Suite("Handshake deadline and limits", .serialized)
struct HandshakeDeadlineTests {
    static let upgrade = "GET /stream HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"

    static func configuration(timeout: Duration = .seconds(1), perIP: Int? = nil, verifier: (any TokenVerifier)? = nil) -> NodeConfiguration {
        var configuration = NodeConfiguration(port: 0)
        configuration.security.handshakeTimeout = .init(timeout)
        configuration.security.maxConnectionsPerIP = perIP
        if let verifier { configuration.security.policy = AccessPolicy(mode: .optional, verifier: verifier) }
        return configuration
    }

    @Test("TLS port: a connection that never starts TLS is closed at the deadline; so is one that stops after TLS")
    func tlsNeverStarted() async throws {
        let folder = NSTemporaryDirectory() + "switchboard-deadline-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let certificate = try TestCertificate.make(in: folder)
        var configuration = Self.configuration()
        configuration.security.tls = .init(certificatePath: certificate.certificatePath, privateKeyPath: certificate.keyPath)
        let node = try await TestNode.start(configuration: configuration)
        let silent = try await HTTPProbe.waitForClose(port: node.port, timeout: .seconds(10))
        #expect(silent.closed, "still open after \(silent.elapsed)")
        #expect(silent.elapsed < .seconds(5))
        // A ClientHello's first bytes, then nothing: the handshake is not finished in time either.
        let partial = try await HTTPProbe.waitForClose(sending: "\u{16}\u{03}\u{01}", port: node.port, timeout: .seconds(10))
        #expect(partial.closed, "still open after \(partial.elapsed)")
        // Well-behaved clients are served as before.
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(certificate.certificatePath)
        let socket = try await RawWebSocket.connect("wss://127.0.0.1:\(node.port)/stream", tls: tls)
        #expect(try await socket.call(["id": "i", "method": "info"])["response"] != nil)
        await socket.close()
        await node.stop()
    }

    @Test("plain port: headers that never end get 408 and a close at the deadline")
    func headersNeverEnd() async throws {
        let node = try await TestNode.start(configuration: Self.configuration())
        let slow = try await HTTPProbe.waitForClose(sending: "GET /stream HTTP/1.1\r\nHost: x\r\n", port: node.port, timeout: .seconds(10))
        #expect(slow.closed)
        #expect(slow.received.hasPrefix("HTTP/1.1 408"))
        await node.stop()
    }

    @Test("an upgrade request that announces a body is refused with 400 at once, with or without a token", arguments: ["Content-Length: 10\r\n", "Transfer-Encoding: chunked\r\n"])
    func upgradeWithBody(_ header: String) async throws {
        let node = try await TestNode.start(configuration: Self.configuration(timeout: .seconds(30)))
        let request = Self.upgrade + "Authorization: Bearer x.y.z\r\n" + header + "\r\n"
        let answer = try await HTTPProbe.waitForClose(sending: request, port: node.port, timeout: .seconds(10))
        #expect(answer.closed)
        #expect(answer.received.hasPrefix("HTTP/1.1 400"), "\(answer.received)")
        #expect(answer.received.contains("no body"))
        await node.stop()
    }

    @Test("an upgrade whose token check outlasts the deadline is closed, and uncounted")
    func tokenCheckOutlastsDeadline() async throws {
        let node = try await TestNode.start(configuration: Self.configuration(timeout: .milliseconds(500), perIP: 1, verifier: SlowVerifier(delay: .seconds(3))))
        let held = try await HTTPProbe.waitForClose(sending: Self.upgrade + "Authorization: Bearer a.b.c\r\n\r\n", port: node.port, timeout: .seconds(10))
        #expect(held.closed)
        #expect(held.elapsed < .seconds(2.5), "closed after \(held.elapsed)")
        // Its count is released: the one connection this address may have is free again.
        #expect(await eventually { node.node.isReady })
        let socket = try await RawWebSocket.connect(node.url)
        #expect(try await socket.call(["id": "i", "method": "info"])["response"] != nil)
        await socket.close()
        await node.stop()
    }

    @Test("upgrades waiting for their token check count against the per-address limit")
    func pendingHandshakesCount() async throws {
        let node = try await TestNode.start(configuration: Self.configuration(timeout: .seconds(10), perIP: 2, verifier: SlowVerifier(delay: .milliseconds(800))))
        let token = "a.b.c"
        let results = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    (try? await HTTPProbe.raw(Self.upgrade + "Authorization: Bearer \(token)\r\n\r\n", port: node.port, timeout: .seconds(5)).status) ?? 0
                }
            }
            return await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(results.filter { $0 == 101 }.count == 2, "\(results)")
        #expect(results.filter { $0 == 429 }.count == 6, "\(results)")
        await node.stop()
    }
}

/// A token verifier that takes its time (a JWKS fetch, a slow key), then accepts any token.
struct SlowVerifier: TokenVerifier {
    let delay: Duration

    func identity(for token: String) async throws(TokenRejection) -> Identity {
        try? await Task.sleep(for: delay)
        return Identity(userID: "slow")
    }
}
