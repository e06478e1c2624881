import SwitchboardProcesses
import Foundation
import NIOCore
import NIOPosix
import SwitchboardRedis

/// A real `redis-server` for tests: started on a free loopback port, stopped (or killed) by PID,
/// restartable on the same port.
public final class RedisServer: @unchecked Sendable {
    /// Why a server could not be started.
    public struct StartError: Error, CustomStringConvertible {
        public let description: String
    }

    /// The port it listens on.
    public let port: Int
    /// Extra arguments (for example `["--requirepass", "secret"]`).
    public let arguments: [String]
    private var process: ChildProcess?
    /// Holds the port while the server is down, so that no other test's server takes it.
    private var reservation: PortReservation?
    private let lock = NSLock()

    /// `redis://127.0.0.1:PORT` (plus what the caller adds).
    public var url: String { "redis://127.0.0.1:\(port)" }

    /// The PID of the running server.
    public var pid: Int32? { lock.withLock { process?.pid } }

    private init(port: Int, arguments: [String]) {
        self.port = port
        self.arguments = arguments
    }

    /// Starts a server on `port`, or on a free port.
    public static func start(port: Int? = nil, arguments: [String] = []) async throws -> RedisServer {
        TestLog.bootstrap()
        guard let executable = Self.executable() else {
            throw StartError(description: "redis-server is not installed (Debian: apt-get install -y redis-server); the Redis tests need it")
        }
        var lastError: (any Error)?
        for _ in 0..<(port == nil ? 5 : 1) {
            let server = RedisServer(port: try port ?? PortReservation.freePort(), arguments: arguments)
            do {
                try await server.launch(executable)
                return server
            } catch {
                lastError = error
            }
        }
        throw lastError ?? StartError(description: "redis-server did not start")
    }

    private static func executable() -> String? {
        for directory in ["/usr/bin", "/usr/local/bin", "/usr/sbin"] {
            let path = directory + "/redis-server"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    private func launch(_ executable: String) async throws {
        let process = try ChildProcess(executable, [
            "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--protected-mode", "no", "--loglevel", "warning",
        ] + arguments)
        lock.withLock { self.process = process }
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            guard process.isRunning else { throw StartError(description: "redis-server exited at start (port \(port) taken?)") }
            if await respondsToPing() { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        stop()
        throw StartError(description: "redis-server on port \(port) did not answer within 10 s")
    }

    private func respondsToPing() async -> Bool {
        var url = RedisURL(host: "127.0.0.1", port: port)
        if let index = arguments.firstIndex(of: "--requirepass"), index + 1 < arguments.count { url.password = arguments[index + 1] }
        guard let connection = try? await RedisConnection.connect(to: url, on: MultiThreadedEventLoopGroup.singleton.next(), timeout: .milliseconds(500)) else {
            return false
        }
        defer { connection.close() }
        return (try? await connection.send(["PING"]).get()) == .simpleString("PONG")
    }

    /// Stops the server (SIGTERM, then SIGKILL) and waits for it.
    public func stop() {
        guard let process = lock.withLock({ self.process }) else { return }
        process.stop()
        lock.withLock { self.process = nil }
    }

    /// Kills the server with SIGKILL (a crash) and waits for it; the port stays reserved (refusing
    /// connections) until `restart()`.
    public func kill9() {
        guard let process = lock.withLock({ self.process }) else { return }
        process.signal(SIGKILL)
        process.wait(timeout: .seconds(5))
        let reservation = try? PortReservation(port: port)
        lock.withLock {
            self.process = nil
            self.reservation = reservation
        }
    }

    /// Stops the server with SIGSTOP: it hangs with its sockets open (a hung process, a partition).
    public func pause() {
        lock.withLock { self.process }?.signal(SIGSTOP)
    }

    /// Lets a paused server go on (SIGCONT).
    public func resume() {
        lock.withLock { self.process }?.signal(SIGCONT)
    }

    /// Starts the server again on the same port.
    public func restart() async throws {
        guard let executable = Self.executable() else { throw StartError(description: "redis-server is not installed") }
        lock.withLock { self.reservation = nil }
        try await launch(executable)
    }

    /// A connection to this server (for checks such as `PUBSUB NUMSUB`).
    public func connect(password: String? = nil) async throws -> RedisConnection {
        try await RedisConnection.connect(
            to: RedisURL(host: "127.0.0.1", port: port, password: password),
            on: MultiThreadedEventLoopGroup.singleton.next()
        )
    }

    /// Runs one command on a fresh connection.
    public func command(_ arguments: [String], password: String? = nil) async throws -> RESPValue {
        let connection = try await connect(password: password)
        defer { connection.close() }
        return try await connection.send(arguments).get()
    }

    deinit {
        stop()
    }
}

