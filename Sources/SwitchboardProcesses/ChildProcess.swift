#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A child process started with `posix_spawn` (see ``ProcessSpawner``), stopped by PID, and
/// stopped by the ``Lifeline`` if this process dies first.
public final class ChildProcess: @unchecked Sendable {
    /// Why a process could not be started.
    public struct SpawnError: Error, CustomStringConvertible {
        public let description: String
    }

    /// The process id.
    public let pid: pid_t
    private var exitStatus: Int32?

    /// Starts `executable` with `arguments`; standard input, output and error go to /dev/null
    /// unless `output` names a file for both output and error. The process is registered with
    /// the ``Lifeline``, so it does not outlive this one.
    public init(_ executable: String, _ arguments: [String], output: String? = nil, environment: [String: String]? = nil) throws {
        pid = try ProcessSpawner.spawn(executable, arguments, standardInput: nil, output: output, environment: environment)
        Lifeline.watch(pid)
    }

    /// The exit code once the process exited normally (`nil` while running, or after a signal).
    public var exitCode: Int32? {
        guard !isRunning, let status = exitStatus, status & 0x7f == 0 else { return nil }
        return (status >> 8) & 0xff
    }

    /// `true` until the process exited (and was reaped).
    public var isRunning: Bool {
        if exitStatus != nil { return false }
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == pid || result == -1 {
            exitStatus = status
            Lifeline.release(pid)
            return false
        }
        return true
    }

    /// Sends `signal`.
    public func signal(_ signal: Int32) {
        if isRunning { kill(pid, signal) }
    }

    /// Waits up to `timeout` for the process to exit; `true` if it did.
    @discardableResult
    public func wait(timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while isRunning {
            if ContinuousClock.now > deadline { return false }
            usleep(5_000)
        }
        return true
    }

    /// SIGTERM, then SIGKILL if it is still running after `grace`.
    public func stop(grace: Duration = .seconds(5)) {
        signal(SIGTERM)
        if !wait(timeout: grace) {
            signal(SIGKILL)
            wait(timeout: .seconds(5))
        }
    }
}
