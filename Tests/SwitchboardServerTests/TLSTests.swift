import Foundation
import NIOSSL
import Switchboard
import SwitchboardProcesses
import SwitchboardServer
import SwitchboardTesting
import Testing

/// `wss://` and `https://` on one port with a certificate made here; SIGHUP reloads it.
@Suite("TLS", .serialized)
struct TLSTests {
    static func trusting(_ certificate: TestCertificate) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .file(certificate.certificatePath)
        return configuration
    }

    static func folder() throws -> String {
        let path = NSTemporaryDirectory() + "switchboard-tls-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Runs a program and returns its exit status and standard output.
    static func run(_ executable: String, _ arguments: [String]) throws -> (Int32, String) {
        let process = Process()
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.runWatched()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test("wss:// and https:// on the node's port; the Swift client and the CLI trust a given authority")
    func serve() async throws {
        let folder = try Self.folder()
        let certificate = try TestCertificate.make(in: folder)
        var configuration = NodeConfiguration(port: 0)
        configuration.security.tls = .init(certificatePath: certificate.certificatePath, privateKeyPath: certificate.keyPath)
        let node = try await TestNode.start(configuration: configuration)
        let secureURL = "wss://127.0.0.1:\(node.port)/stream"
        let socket = try await RawWebSocket.connect(secureURL, tls: Self.trusting(certificate))
        #expect(try await socket.call(["id": "i", "method": "info"])["response"]?["connections"] == 1)
        await socket.close()
        let (status, body) = try Self.run("/usr/bin/curl", ["-s", "--cacert", certificate.certificatePath, "https://127.0.0.1:\(node.port)/healthz"])
        #expect(status == 0)
        #expect(body == #"{"status":"ok"}"#)
        // An untrusted certificate is refused by the client.
        await #expect(throws: (any Error).self) { _ = try await RawWebSocket.connect(secureURL) }
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("switchboard").path
        let (cliStatus, cliOutput) = try Self.run(binary, ["call", "--url", secureURL, "--ca-file", certificate.certificatePath, "info"])
        #expect(cliStatus == 0)
        #expect(try JSONValue(parsing: cliOutput)["connections"] == 1)
        await node.stop()
    }

    @Test("SIGHUP reloads the certificate: new connections get the new one, open ones stay")
    func reload() async throws {
        let folder = try Self.folder()
        let first = try TestCertificate.make(in: folder, name: "first")
        let second = try TestCertificate.make(in: folder, name: "second")
        let certificatePath = "\(folder)/node.pem"
        let keyPath = "\(folder)/node-key.pem"
        try FileManager.default.copyItem(atPath: first.certificatePath, toPath: certificatePath)
        try FileManager.default.copyItem(atPath: first.keyPath, toPath: keyPath)
        let port = try PortReservation.freePortOutsideEphemeralRange()
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("switchboard").path
        let node = try ChildProcess(binary, ["serve", "--port", "\(port)", "--tls-cert", certificatePath, "--tls-key", keyPath, "--log-level", "error"])
        defer { node.stop() }
        let url = "wss://127.0.0.1:\(port)/stream"
        // A debug build starting while the whole suite runs can take a while to listen.
        let listening = await eventually(timeout: .seconds(30)) { (try? await RawWebSocket.connect(url, tls: Self.trusting(first))) != nil }
        try #require(listening, "the node did not listen within 30 s (still running: \(node.isRunning))")
        let open = try await RawWebSocket.connect(url, tls: Self.trusting(first))
        _ = try await open.call(["id": "1", "method": "info"])
        // Swap the files, then SIGHUP.
        try FileManager.default.removeItem(atPath: certificatePath)
        try FileManager.default.removeItem(atPath: keyPath)
        try FileManager.default.copyItem(atPath: second.certificatePath, toPath: certificatePath)
        try FileManager.default.copyItem(atPath: second.keyPath, toPath: keyPath)
        node.signal(SIGHUP)
        #expect(await eventually { (try? await RawWebSocket.connect(url, tls: Self.trusting(second))) != nil })
        #expect(node.isRunning)
        #expect(try await open.call(["id": "2", "method": "info"])["response"] != nil)
        await open.close()
    }
}
