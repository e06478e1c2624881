import Foundation
import NIOSSL
import Switchboard
import SwitchboardProcesses
import SwitchboardRedis
import SwitchboardServer
import SwitchboardTesting
import Testing

/// `rediss://`: a node on a redis-server that speaks only TLS, with a certificate made here.
@Suite("Redis over TLS")
struct RedisTLSTests {
    @Test("a node on rediss:// publishes and delivers; without trusting the authority it cannot connect")
    func tls() async throws {
        let folder = NSTemporaryDirectory() + "switchboard-redis-tls-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let certificate = try TestCertificate.make(in: folder, name: "redis")
        let port = try PortReservation.freePortOutsideEphemeralRange()
        let redis = try ChildProcess("/usr/bin/redis-server", [
            "--port", "0", "--tls-port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--tls-cert-file", certificate.certificatePath, "--tls-key-file", certificate.keyPath,
            "--tls-ca-cert-file", certificate.certificatePath, "--tls-auth-clients", "no",
        ])
        defer { redis.stop() }
        var trusting = TLSConfiguration.makeClientConfiguration()
        trusting.trustRoots = .file(certificate.certificatePath)
        let node = try await TestNode.start(redisURL: "rediss://127.0.0.1:\(port)") { $0.tls = trusting }
        #expect(await node.waitUntilReady())
        let socket = try await RawWebSocket.connect(node.url)
        #expect(try await socket.call(["id": "s", "method": "subscribe", "payload": ["channel": "secure"]])["response"] != nil)
        #expect(try await socket.call(["id": "p", "method": "publish", "payload": ["channel": "secure", "data": "over tls"]])["response"] != nil)
        #expect(try await socket.nextJSON()["data"] == "over tls")
        await socket.close()
        await node.stop()
        // The system's trust roots do not hold this authority: the node never gets ready.
        let untrusting = try await TestNode.start(redisURL: "rediss://127.0.0.1:\(port)")
        #expect(await untrusting.waitUntilReady(timeout: .seconds(2)) == false)
        await untrusting.stop()
    }
}
