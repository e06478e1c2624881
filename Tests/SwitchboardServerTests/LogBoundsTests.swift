import Logging
import Switchboard
import SwitchboardServer
import SwitchboardTesting
import Synchronization
import Testing

/// The lines a `CapturingLogHandler` keeps.
final class LogLines: Sendable {
    let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}

/// A log handler that keeps every line it is given (message and metadata), for tests.
struct CapturingLogHandler: LogHandler {
    let lines: LogLines
    var metadata: Logger.Metadata {
        get { [:] }
        set {}
    }
    var logLevel: Logger.Level {
        get { .info }
        set {}
    }
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { nil }
        set {}
    }
    func log(event: LogEvent) {
        let text = "\(event.message) \(event.metadata ?? [:])"
        lines.append(text)
    }
}

/// Client-chosen strings reach the log clipped (security finding 10).
@Suite("Log bounds")
struct LogBoundsTests {
    @Test("clipping keeps short strings, cuts long ones at a character with their length")
    func clipping() {
        #expect("news".clippedForLog == "news")
        let long = String(repeating: "é", count: 1000)
        let clipped = long.clippedForLog
        #expect(clipped.utf8.count < 130)
        #expect(clipped.hasSuffix("… (2000 bytes)"))
        #expect(clipped.hasPrefix(String(repeating: "é", count: 50)))
    }

    @Test("refused requests with 1 MB channel names write no more than a few hundred bytes of log each")
    func refusedNamesClipped() async throws {
        let lines = LogLines()
        let logger = Logger(label: "capture") { _ in CapturingLogHandler(lines: lines) }
        let node = try await TestNode.start(logger: logger)
        let socket = try await RawWebSocket.connect(node.url)
        let name = String(repeating: "a", count: 1 << 20) + " x"
        for id in 0..<5 {
            let payload: JSONObject = ["channel": .string(name), "data": "x"]
            let reply = try await socket.call(["id": .string("\(id)"), "method": "publish", "payload": .object(payload)])
            #expect(reply["error"]?["errors"]?["channel"] == "Cannot publish to channel")
        }
        await socket.close()
        await node.stop()
        let logged = lines.all
        #expect(logged.contains { $0.contains("channel refused") })
        let bytes = logged.reduce(0) { $0 + $1.utf8.count }
        #expect(bytes < 20_000, "\(bytes) bytes of log")
    }
}
