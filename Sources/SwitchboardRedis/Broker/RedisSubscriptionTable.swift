/// The channels of one Redis subscriber connection: which the hub wants, which Redis has
/// confirmed, which are asked for and not confirmed yet, and who waits for which. Pure: each
/// transition says what to send (SUBSCRIBE, UNSUBSCRIBE) and whom to resume; the broker does the
/// I/O. `Waiter` is the caller's (a continuation; an id in tests).
///
/// A channel is active only while Redis has confirmed it and no UNSUBSCRIBE was sent since: a
/// subscribe that comes after a release sends its own SUBSCRIBE (ordered after the UNSUBSCRIBE on
/// the connection) and waits for its confirmation.
struct RedisSubscriptionTable<Waiter> {
    /// Channels the hub asked for and has not released; after a reconnection, the hub's record.
    private(set) var wanted = Set<String>()
    /// Channels Redis confirmed on the current connection.
    private(set) var active = Set<String>()
    /// SUBSCRIBE sent on the current connection, confirmation pending.
    private(set) var requested = Set<String>()
    /// Channels whose confirmation the current (re)connection waits for.
    private(set) var restoring = Set<String>()
    /// `true` while a connection is up and restored: a subscribe is sent at once.
    private(set) var connected = false
    private var waiters: [String: [(id: UInt64, waiter: Waiter)]] = [:]
    private var nextWaiter: UInt64 = 0

    /// What a subscribe does.
    enum Subscribe {
        /// Already active: nothing to wait for.
        case active
        /// Wait for the confirmation (waiter `id`); `send`: send SUBSCRIBE now (else it is
        /// already asked for, or goes with the next connection's restore).
        case wait(id: UInt64, send: Bool)
    }

    /// The hub wants `channel`.
    mutating func subscribe(_ channel: String, waiter: Waiter) -> Subscribe {
        wanted.insert(channel)
        if active.contains(channel) { return .active }
        nextWaiter += 1
        waiters[channel, default: []].append((nextWaiter, waiter))
        guard connected, !requested.contains(channel) else { return .wait(id: nextWaiter, send: false) }
        requested.insert(channel)
        return .wait(id: nextWaiter, send: true)
    }

    /// Waiter `id` gave up (its deadline passed). Returns it, if it was still waiting; a channel
    /// nobody waits for any more and that is not active is no longer wanted.
    mutating func timedOut(_ channel: String, id: UInt64) -> Waiter? {
        guard var list = waiters[channel], let index = list.firstIndex(where: { $0.id == id }) else { return nil }
        let entry = list.remove(at: index)
        waiters[channel] = list.isEmpty ? nil : list
        if list.isEmpty, !active.contains(channel) { wanted.remove(channel) }
        return entry.waiter
    }

    /// The hub released `channel` (Redis is told later, by `releaseDue`).
    mutating func unsubscribe(_ channel: String) {
        wanted.remove(channel)
    }

    /// The release delay of `channel` passed: `true` when UNSUBSCRIBE must be sent now (the hub
    /// did not want it again meanwhile); the channel is no longer active from here on.
    mutating func releaseDue(_ channel: String) -> Bool {
        guard !wanted.contains(channel), active.contains(channel) || requested.contains(channel) else { return false }
        active.remove(channel)
        requested.remove(channel)
        return true
    }

    /// Redis confirmed a SUBSCRIBE: the waiters to resume, and whether the hub no longer wants it
    /// (then UNSUBSCRIBE, and it does not count as active). The restore is told apart, by
    /// `restoredOne`.
    mutating func confirmed(_ channel: String) -> (waiters: [Waiter], unwanted: Bool) {
        requested.remove(channel)
        let resumed = (waiters.removeValue(forKey: channel) ?? []).map(\.waiter)
        let unwanted = !wanted.contains(channel)
        if !unwanted { active.insert(channel) }
        return (resumed, unwanted)
    }

    /// Redis says the connection no longer holds `channel` (after our UNSUBSCRIBE, or its own:
    /// a slot moved, say). `resubscribe`: send SUBSCRIBE again (the hub still wants it);
    /// `forget`: the channel is gone for good (drop its read state).
    mutating func unsubscribed(_ channel: String) -> (resubscribe: Bool, forget: Bool) {
        active.remove(channel)
        guard wanted.contains(channel) else { return (false, true) }
        guard connected, !requested.contains(channel) else { return (false, false) }
        requested.insert(channel)
        return (true, false)
    }

    /// A new connection, to be restored with `channels` (the hub's record), the channels whose
    /// subscribe still waits, and the node's own `extra` channels (probe, inbox). Returns the
    /// channels to SUBSCRIBE (without `extra`).
    mutating func restart(with channels: Set<String>, extra: [String]) -> [String] {
        wanted = channels.union(waiters.keys)
        active = []
        requested = wanted
        restoring = wanted.union(extra)
        connected = false
        return Array(wanted)
    }

    /// Marks a restore confirmation (the node's own channels too); `true` once all came.
    mutating func restoredOne(_ name: String) -> Bool {
        guard restoring.remove(name) != nil else { return false }
        return restoring.isEmpty
    }

    /// The restore is done: the connection takes subscribes at once from now on. Returns the
    /// channels asked for meanwhile, to SUBSCRIBE now.
    mutating func ready() -> [String] {
        connected = true
        let missing = wanted.subtracting(active).subtracting(requested)
        requested.formUnion(missing)
        return Array(missing)
    }

    /// The connection is gone: nothing is active or asked for; waiters keep waiting for the next
    /// connection (up to their own deadline), and `wanted` stays until the next `restart`.
    mutating func connectionLost() {
        connected = false
        active = []
        requested = []
        restoring = []
    }

    /// Every channel the connection holds, wants or is asked to wait for.
    var held: Set<String> { wanted.union(active).union(requested).union(waiters.keys) }

    /// The topology changed: `moved` now live on another shard. They are
    /// forgotten here (Redis dropped them when their slot left this shard); their waiters are
    /// handed back, to wait on the shard that owns them now.
    mutating func disown(_ moved: Set<String>) -> [(channel: String, waiters: [Waiter])] {
        var out: [(channel: String, waiters: [Waiter])] = []
        for channel in held.intersection(moved) {
            wanted.remove(channel)
            active.remove(channel)
            requested.remove(channel)
            out.append((channel, (waiters.removeValue(forKey: channel) ?? []).map(\.waiter)))
        }
        return out
    }

    /// Every waiter (the broker closes).
    mutating func removeAllWaiters() -> [Waiter] {
        defer { waiters = [:] }
        return waiters.values.flatMap { $0.map(\.waiter) }
    }
}
