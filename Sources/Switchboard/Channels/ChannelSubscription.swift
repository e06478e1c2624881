/// This node's broker subscription to one channel: idle → subscribing → active → unsubscribing →
/// idle, with at most one broker subscribe or unsubscribe in flight. A join that comes while the
/// node unsubscribes waits, and the node subscribes again once the unsubscribe is done; so the
/// broker sees this node's subscribes and unsubscribes of a channel in the order the node decided
/// them, and a socket is never told it is subscribed while its node's subscription is going away.
///
/// Pure: the caller performs each returned action at the broker and reports how it ended.
/// `Waiter` is whatever the caller resumes (a continuation; an id in tests).
public struct ChannelSubscription<Waiter> {
    enum State {
        /// No broker subscription, none on its way.
        case idle
        /// A subscribe is in flight; the waiters are told how it ends.
        case subscribing([Waiter])
        /// The broker subscription is active.
        case active
        /// An unsubscribe is in flight; the waiters joined meanwhile and wait for the subscribe
        /// that follows it.
        case unsubscribing([Waiter])
    }

    private(set) var state = State.idle

    public init() {}

    /// What a join must do.
    public enum JoinAction: Equatable {
        /// The subscription is active: nothing to wait for.
        case ready
        /// Subscribe at the broker, then report `subscribed()` or `subscribeFailed()`.
        case subscribe
        /// Another caller is changing the subscription: wait (`addWaiter`).
        case wait
    }

    /// What to do once an unsubscribe is done.
    public enum AfterUnsubscribe: Equatable {
        /// Nothing: the channel is idle.
        case done
        /// Sockets joined meanwhile: subscribe at the broker again, then report as after `.subscribe`.
        case subscribe
    }

    /// `true` while no broker subscription exists or is on its way.
    public var isIdle: Bool {
        if case .idle = state { return true }
        return false
    }

    /// `true` while the node holds the subscription or is making it (what a broker restores
    /// after a reconnection): subscribing or active.
    public var isWanted: Bool {
        switch state {
        case .subscribing, .active: true
        case .idle, .unsubscribing: false
        }
    }

    /// `true` while the subscription is active.
    public var isActive: Bool {
        if case .active = state { return true }
        return false
    }

    /// A socket wants the channel.
    public mutating func join() -> JoinAction {
        switch state {
        case .idle:
            state = .subscribing([])
            return .subscribe
        case .active:
            return .ready
        case .subscribing, .unsubscribing:
            return .wait
        }
    }

    /// Adds a waiter for a join that got `.wait`. Returns `nil` when it was added, else how the
    /// wait already ended (`true`: active; `false`: nothing is on its way, the join failed).
    public mutating func addWaiter(_ waiter: Waiter) -> Bool? {
        switch state {
        case .subscribing(var waiters):
            waiters.append(waiter)
            state = .subscribing(waiters)
            return nil
        case .unsubscribing(var waiters):
            waiters.append(waiter)
            state = .unsubscribing(waiters)
            return nil
        case .active:
            return true
        case .idle:
            return false
        }
    }

    /// The broker subscribe succeeded: returns the waiters to resume.
    public mutating func subscribed() -> [Waiter] {
        guard case .subscribing(let waiters) = state else { return [] }
        state = .active
        return waiters
    }

    /// The broker subscribe failed: returns the waiters to fail.
    public mutating func subscribeFailed() -> [Waiter] {
        guard case .subscribing(let waiters) = state else { return [] }
        state = .idle
        return waiters
    }

    /// The channel's last socket left (no socket holds it, none is joining): `true` when the
    /// caller must unsubscribe at the broker, then report `unsubscribed()`.
    public mutating func release() -> Bool {
        guard case .active = state else { return false }
        state = .unsubscribing([])
        return true
    }

    /// The broker unsubscribe is done. `wanted`: a socket holds or is joining the channel again.
    public mutating func unsubscribed(wanted: Bool) -> AfterUnsubscribe {
        guard case .unsubscribing(let waiters) = state else { return .done }
        if waiters.isEmpty, !wanted {
            state = .idle
            return .done
        }
        state = .subscribing(waiters)
        return .subscribe
    }
}
