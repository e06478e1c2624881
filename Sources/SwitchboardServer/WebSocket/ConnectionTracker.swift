import Synchronization

/// Counts the node's open `/stream` connections (from upgrade to TCP close), so that shutdown
/// can wait until every socket finished its close handshake.
final class ConnectionTracker: Sendable {
    private let state = Mutex<(open: Int, waiters: [CheckedContinuation<Void, Never>])>((0, []))

    var openCount: Int { state.withLock { $0.open } }

    func opened() {
        state.withLock { $0.open += 1 }
    }

    func closed() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open -= 1
            guard state.open == 0 else { return [] }
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once no connection is open, or after `timeout`.
    func waitUntilAllClosed(timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let done = self.state.withLock { state -> Bool in
                        if state.open == 0 { return true }
                        state.waiters.append(continuation)
                        return false
                    }
                    if done { continuation.resume() }
                }
            }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
            // Release a waiter still parked (the timeout won).
            let waiters = self.state.withLock { state in
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }
    }
}
