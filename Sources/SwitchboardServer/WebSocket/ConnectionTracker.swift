import Synchronization

/// Counts the node's WebSocket connections, in all and per client address, from the moment an
/// upgrade request is accepted (before its token is checked) to the TCP close, so that shutdown
/// can wait until every socket finished its close handshake and the connection limits hold for
/// pending handshakes too.
final class ConnectionTracker: Sendable {
    private struct State {
        var open = 0
        var byAddress: [String: Int] = [:]
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    var openCount: Int { state.withLock { $0.open } }

    /// Open connections from `address`.
    func count(from address: String) -> Int {
        state.withLock { $0.byAddress[address] ?? 0 }
    }

    /// Counts one more connection from `address` unless `refusal` (given the counts before it)
    /// refuses it; check and count are one step, so concurrent handshakes cannot pass a limit
    /// together. Returns the refusal, or `nil` once counted (`closed(from:)` uncounts it).
    func reserve<Refusal>(from address: String, unless refusal: (_ total: Int, _ fromAddress: Int) -> Refusal?) -> Refusal? {
        state.withLock { state in
            if let refused = refusal(state.open, state.byAddress[address] ?? 0) { return refused }
            state.open += 1
            state.byAddress[address, default: 0] += 1
            return nil
        }
    }

    func closed(from address: String) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open -= 1
            let remaining = (state.byAddress[address] ?? 1) - 1
            state.byAddress[address] = remaining > 0 ? remaining : nil
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
