import Synchronization

/// A queue one task reads with a deadline and any thread writes to.
public final class Mailbox<Item: Sendable>: Sendable {
    private struct State {
        var items: [Item] = []
        var waiter: (id: UInt64, continuation: CheckedContinuation<Item?, Never>)?
        var nextWaiter: UInt64 = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// Adds an item (wakes the reader).
    public func put(_ item: Item) {
        let waiter = state.withLock { state -> CheckedContinuation<Item?, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter.continuation
            }
            state.items.append(item)
            return nil
        }
        waiter?.resume(returning: item)
    }

    /// The next item, or `nil` if none came within `timeout`.
    public func take(timeout: Duration) async -> Item? {
        await withCheckedContinuation { continuation in
            let (ready, id) = state.withLock { state -> (Item??, UInt64) in
                if !state.items.isEmpty { return (.some(state.items.removeFirst()), 0) }
                state.nextWaiter += 1
                state.waiter = (state.nextWaiter, continuation)
                return (nil, state.nextWaiter)
            }
            if let ready {
                continuation.resume(returning: ready)
                return
            }
            Task {
                try? await Task.sleep(for: timeout)
                let expired = self.state.withLock { state -> CheckedContinuation<Item?, Never>? in
                    guard let waiter = state.waiter, waiter.id == id else { return nil }
                    state.waiter = nil
                    return waiter.continuation
                }
                expired?.resume(returning: nil)
            }
        }
    }

    /// Items waiting now (without waiting).
    public func drain() -> [Item] {
        state.withLock { state in
            defer { state.items = [] }
            return state.items
        }
    }
}
