#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Logging
import SwitchboardProcesses
import Switchboard

/// Where the logs of tests go: a file (`SWITCHBOARD_TEST_LOG`, default
/// `.build/test-logs/tests.log`), not the terminal, so a passing run stays quiet and a failing
/// one has every node's story to read. `SWITCHBOARD_TEST_LOG=-` writes to standard error.
/// Each line names the test process's log label and carries the node's metadata (node, socket).
public enum TestLog {
    /// The log file's path (`-` for standard error).
    public static let path: String = Environment.value("SWITCHBOARD_TEST_LOG") ?? ".build/test-logs/tests.log"

    private static let descriptor: Int32 = {
        if path == "-" { return 2 }
        for (index, character) in zip(path.indices, path) where character == "/" && index != path.startIndex {
            mkdir(String(path[..<index]), 0o755)
        }
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        return descriptor >= 0 ? descriptor : 2
    }()

    private static let bootstrapped: Void = {
        _ = descriptor
        LoggingSystem.bootstrap { label in TestLogHandler(label: label) }
    }()

    /// Sends every logger made from now on to the test log. Idempotent; the test helpers call it.
    public static func bootstrap() {
        _ = bootstrapped
    }

    static func write(_ line: String) {
        DescriptorOutput.write(line, to: descriptor)
    }
}

/// A log handler that appends one line per message to the test log.
struct TestLogHandler: LogHandler {
    let label: String
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    private static let format = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    /// `2026-11-29T03:17:29.647Z`: UTC with milliseconds.
    static func timestamp() -> String {
        format.format(Date())
    }

    func log(event: LogEvent) {
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { _, new in new } }
        let fields = all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        TestLog.write("\(Self.timestamp()) \(event.level) \(label): \(fields.isEmpty ? "" : fields + " ")\(event.message)\n")
    }
}
