import Synchronization

/// This node's part of every channel's presence: which local socket is in which presence
/// channel, under which entry. The broker keeps the cluster-wide view; this is what the node
/// adds, removes when sockets go, and refreshes so that the entries of a node that died expire.
public final class PresenceTracker: Sendable {
    private struct State {
        var bySocket: [SocketID: [String: PresenceEntry]] = [:]
    }

    private let state = Mutex(State())

    /// One socket's entry in one channel.
    public struct Membership: Sendable {
        public let channel: String
        public let entry: PresenceEntry

        public init(channel: String, entry: PresenceEntry) {
            self.channel = channel
            self.entry = entry
        }
    }

    public init() {}

    /// `true` when socket `id` is in `channel`'s presence.
    public func contains(_ id: SocketID, channel: String) -> Bool {
        state.withLock { $0.bySocket[id]?[channel] != nil }
    }

    /// Records that socket `id` is in `channel`; `false` when it already was.
    public func add(_ id: SocketID, channel: String, entry: PresenceEntry) -> Bool {
        state.withLock { state in
            if state.bySocket[id]?[channel] != nil { return false }
            state.bySocket[id, default: [:]][channel] = entry
            return true
        }
    }

    /// Forgets socket `id` in `channel`; returns its entry, or `nil` when it was not there.
    public func remove(_ id: SocketID, channel: String) -> PresenceEntry? {
        state.withLock { state in
            guard let entry = state.bySocket[id]?.removeValue(forKey: channel) else { return nil }
            if state.bySocket[id]?.isEmpty == true { state.bySocket[id] = nil }
            return entry
        }
    }

    /// Forgets socket `id` everywhere; returns the channels it was in, with its entries.
    public func removeAll(_ id: SocketID) -> [Membership] {
        state.withLock { state in
            (state.bySocket.removeValue(forKey: id) ?? [:]).map { Membership(channel: $0.key, entry: $0.value) }
        }
    }

    /// Every local entry, by channel (for the periodic refresh).
    public func byChannel() -> [String: [PresenceEntry]] {
        state.withLock { state in
            var channels: [String: [PresenceEntry]] = [:]
            for (_, entries) in state.bySocket {
                for (channel, entry) in entries { channels[channel, default: []].append(entry) }
            }
            return channels
        }
    }
}
