#if canImport(Glibc)
import SwitchboardProcesses
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a script of `Tests/Interop` (another library's own client, in Python) against running
/// nodes, with the Python that `SWITCHBOARD_PYTHON` names (`scripts/test` makes a venv for it).
public enum InteropScript {
    /// What a run printed, and how it ended.
    public struct Outcome: Sendable, CustomStringConvertible {
        /// The exit code (`nil` when the script was killed, after the timeout).
        public let exitCode: Int32?
        /// Everything it printed (output and errors).
        public let output: String

        public var description: String { "exit \(exitCode.map(String.init) ?? "killed")\n\(output)" }
    }

    /// The Python to run the scripts with, if configured.
    public static var python: String? {
        guard let value = Environment.value("SWITCHBOARD_PYTHON"), !value.isEmpty else { return nil }
        return value
    }

    /// Why the interop tests need `SWITCHBOARD_PYTHON`.
    public static let requirement = "set SWITCHBOARD_PYTHON to a Python with Tests/Interop/requirements.txt installed (scripts/test makes one with scripts/python-env.sh)"

    /// `Tests/Interop` of this package.
    public static var directory: String {
        // This file is Sources/SwitchboardTesting/InteropScript.swift.
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/") + "/Tests/Interop"
    }

    /// Runs `script` with `arguments` and waits (at most `timeout`, then kills it).
    public static func run(_ script: String, _ arguments: [String], timeout: Duration = .seconds(120)) async throws -> Outcome {
        guard let python else { return Outcome(exitCode: nil, output: requirement) }
        let log = "/tmp/switchboard-interop-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log"
        defer { unlink(log) }
        let process = try ChildProcess(python, ["-u", "\(directory)/\(script)"] + arguments, output: log)
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        if process.isRunning { process.stop(grace: .seconds(2)) }
        return Outcome(exitCode: process.exitCode, output: readFile(log))
    }

    static func readFile(_ path: String) -> String {
        guard let file = fopen(path, "r") else { return "" }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count <= 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
