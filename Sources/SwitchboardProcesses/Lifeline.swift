#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Makes sure the processes a test (or bench) run starts do not outlive it, however it ends.
///
/// A test process that is killed (SIGKILL from a timeout, a crash) runs no cleanup code, so its
/// `redis-server`s and nodes would run on as orphans. The lifeline is a tiny `/bin/sh` watcher
/// started once per process: it reads `+PID` / `-PID` lines from a socket whose only other end
/// this process holds (close-on-exec, so no other child inherits it). When this process ends
/// for any reason the socket reaches end of file, and the watcher sends SIGTERM, then after a
/// second SIGKILL, to every PID still registered. The watcher ignores SIGINT, SIGTERM and
/// SIGHUP, so a Ctrl-C on the terminal's process group does not stop it before it did its job.
public enum Lifeline {
    /// Registers `pid` (a process this process started) to be stopped if this process dies.
    public static func watch(_ pid: pid_t) {
        watcher.send("+\(pid)\n")
    }

    /// Removes `pid` once it exited and was reaped (its number may be reused from then on).
    public static func release(_ pid: pid_t) {
        watcher.send("-\(pid)\n")
    }

    private static let watcher = Watcher()

    /// The watcher process and this process's end of its socket (-1 when it could not be started:
    /// then nothing is watched, and tests run as before).
    private final class Watcher: Sendable {
        let fd: Int32
        /// Keeps lines from different threads whole.
        private let writing = Mutex(())

        init() {
            // A watcher that died must not take this process with it through SIGPIPE.
            signal(SIGPIPE, SIG_IGN)
            // A socket pair rather than a pipe: it is created close-on-exec in one call, so no
            // child spawned meanwhile by another thread inherits it.
            var fds: [Int32] = [-1, -1]
            #if canImport(Glibc)
            let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
            #else
            let type = SOCK_STREAM
            #endif
            guard socketpair(AF_UNIX, type, 0, &fds) == 0 else {
                fd = -1
                return
            }
            let started = (try? ProcessSpawner.spawn(
                "/bin/sh", ["-c", Self.script], standardInput: fds[0], output: nil, environment: nil)) != nil
            close(fds[0])
            if started {
                fd = fds[1]
            } else {
                close(fds[1])
                fd = -1
            }
        }

        func send(_ line: String) {
            guard fd >= 0 else { return }
            let bytes = Array(line.utf8)
            writing.withLock { _ in
                _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            }
        }

        static let script = """
            trap '' INT TERM HUP
            pids=' '
            while IFS= read -r line; do
                case $line in
                    +*) pids="$pids${line#+} " ;;
                    -*) n=${line#-}
                        case $pids in *" $n "*) pids="${pids%% $n *} ${pids#* $n }" ;; esac ;;
                esac
            done
            [ -n "${pids# }" ] || exit 0
            kill -TERM $pids 2>/dev/null
            sleep 1
            kill -KILL $pids 2>/dev/null
            exit 0
            """
    }
}
