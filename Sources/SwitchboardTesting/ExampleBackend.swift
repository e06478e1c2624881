#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SwitchboardProcesses

/// `Examples/ProxyBackend/backend.py`, the Python (aiohttp) application backend of the proxy
/// docs, run with `SWITCHBOARD_PYTHON` on a free port and stopped by PID.
public final class ExampleBackend: Sendable {
    /// The port it listens on.
    public let port: Int
    private let process: ChildProcess
    private let log: String

    /// The backend's base URL (`http://127.0.0.1:<port>`).
    public var url: String { "http://127.0.0.1:\(port)" }

    private init(port: Int, process: ChildProcess, log: String) {
        self.port = port
        self.process = process
        self.log = log
    }

    /// What went wrong starting it.
    public struct StartError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Starts it; `node` and `apiKey` are the node's HTTP API, for its `announce` method.
    public static func start(node: String, apiKey: String) async throws -> ExampleBackend {
        guard let python = InteropScript.python else { throw StartError(description: InteropScript.requirement) }
        let root = String(InteropScript.directory.dropLast("/Tests/Interop".count))
        let log = "/tmp/switchboard-backend-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log"
        let process = try ChildProcess(
            python, ["-u", "\(root)/Examples/ProxyBackend/backend.py", "--port", "0", "--node", node, "--api-key", apiKey],
            output: log
        )
        // It prints "listening on http://127.0.0.1:<port>" once it listens.
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline, process.isRunning {
            if let line = InteropScript.readFile(log).split(separator: "\n").first(where: { $0.hasPrefix("listening on ") }),
               let port = line.split(separator: ":").last.flatMap({ Int($0) })
            {
                return ExampleBackend(port: port, process: process, log: log)
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        process.stop(grace: .seconds(1))
        throw StartError(description: "the example backend did not start: \(InteropScript.readFile(log))")
    }

    /// What it printed.
    public var output: String { InteropScript.readFile(log) }

    /// Stops it (SIGTERM, then SIGKILL) and removes its log.
    public func stop() {
        process.stop(grace: .seconds(2))
        unlink(log)
    }
}
