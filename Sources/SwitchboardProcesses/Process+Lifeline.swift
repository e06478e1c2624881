import Foundation

extension Process {
    /// `run()`, with the process registered with the ``Lifeline`` until it exits: if this
    /// process dies first, the child is stopped too. Replaces any `terminationHandler` set
    /// before, calling it after its own work.
    public func runWatched() throws {
        let registration = Registration()
        let previous = terminationHandler
        terminationHandler = { process in
            registration.exited(process.processIdentifier)
            previous?(process)
        }
        try run()
        registration.started(processIdentifier)
    }

    /// Watches a PID from start to exit, whichever of the two this process sees first.
    private final class Registration: @unchecked Sendable {
        private let lock = NSLock()
        private var watched = false
        private var hasExited = false

        func started(_ pid: Int32) {
            lock.withLock {
                guard !hasExited else { return }
                Lifeline.watch(pid)
                watched = true
            }
        }

        func exited(_ pid: Int32) {
            lock.withLock {
                hasExited = true
                if watched { Lifeline.release(pid) }
            }
        }
    }
}
