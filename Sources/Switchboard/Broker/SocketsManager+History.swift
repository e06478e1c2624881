public import Logging
public import NIOCore

/// Channel history, recovery and presence on top of the broker primitives.
extension SocketsManager {
    /// Most messages one `history` read returns.
    public static var maxHistoryLimit: Int { 1000 }

    /// Reads up to `limit` messages of `channel`'s history after `after` (or the newest first
    /// when `reverse`). Throws `BrokerError.cannotSubscribe` when the broker cannot be read.
    public func history(channel: String, after: StreamOffset? = nil, limit: Int, reverse: Bool = false) async throws -> HistoryPage {
        try await history(channel: channel, query: HistoryQuery(after: after, limit: min(max(limit, 0), Self.maxHistoryLimit), reverse: reverse))
    }

    /// Everything in `channel`'s history after `position` (page by page), and whether that is
    /// everything the client missed (`problem` is `nil`), or why not.
    public func missed(channel: String, since position: StreamPosition) async throws -> (messages: [HistoryMessage], page: HistoryPage, problem: String?) {
        var messages: [HistoryMessage] = []
        var after = position.offset
        var first = try await history(channel: channel, query: HistoryQuery(after: after, limit: Self.maxHistoryLimit))
        if let problem = first.recoveryProblem(from: position), first.epoch == nil || (!position.epoch.isEmpty && first.epoch != position.epoch) {
            return ([], first, problem)
        }
        let problem = first.recoveryProblem(from: position)
        while true {
            messages.append(contentsOf: first.messages)
            guard first.messages.count == Self.maxHistoryLimit, let last = first.messages.last else { break }
            after = last.offset
            let next = try await history(channel: channel, query: HistoryQuery(after: after, limit: Self.maxHistoryLimit))
            guard next.epoch == first.epoch else { return (messages, next, "the channel's history was lost during the read") }
            first = next
        }
        return (messages, first, problem)
    }

    // MARK: - Presence

    /// Adds socket `id` to `channel`'s presence (once, however many patterns it subscribes),
    /// and sends `$join` to the channel's subscribers when the channel wants join/leave events.
    public func joinPresence(_ id: SocketID, channel: String, entry: PresenceEntry, features: ChannelFeatures, on eventLoop: any EventLoop, logger: Logger) async {
        guard features.presence, presence.add(id, channel: channel, entry: entry) else { return }
        do {
            try await presenceAdd(channel: channel, entries: [entry])
        } catch {
            logger.warning("cannot record presence", metadata: ["channel": "\(channel)", "error": "\(error)"])
        }
        if features.joinLeave { announce("$join", entry: entry, channel: channel, on: eventLoop) }
    }

    /// Removes socket `id` from `channel`'s presence (it holds no pattern there any more).
    public func leavePresence(_ id: SocketID, channel: String, on eventLoop: any EventLoop) async {
        guard let entry = presence.remove(id, channel: channel) else { return }
        await presenceRemove(channel: channel, sockets: [entry.socket])
        if channels.features(for: channel).joinLeave { announce("$leave", entry: entry, channel: channel, on: eventLoop) }
    }

    /// Removes a gone socket from every presence it was in.
    func dropPresence(_ id: SocketID, on eventLoop: any EventLoop) {
        let gone = presence.removeAll(id)
        guard !gone.isEmpty else { return }
        Task {
            for (channel, entry) in gone {
                await presenceRemove(channel: channel, sockets: [entry.socket])
                if channels.features(for: channel).joinLeave { announce("$leave", entry: entry, channel: channel, on: eventLoop) }
            }
        }
    }

    private func announce(_ event: String, entry: PresenceEntry, channel: String, on eventLoop: any EventLoop) {
        _ = publishTransient(channel: channel, event: event, rawData: RawJSON(.object(entry.json)), on: eventLoop)
    }
}
