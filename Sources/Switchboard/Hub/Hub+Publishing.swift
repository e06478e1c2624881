import Logging
public import NIOCore

/// Publishing, history, state and presence: the channel's options decide what the broker keeps.
extension Hub {
    /// Publishes a message to every socket subscribed to `channel` on every node; `rawData` is
    /// the data's validated JSON text, passed on as it is. A history channel keeps it (with an
    /// offset and epoch): the future gives that position (`nil` on a channel without history).
    /// The future belongs to `eventLoop`; it fails with
    /// `BrokerError.cannotPublish` when the message cannot be published, without waiting.
    public func publish(channel: String, event: String?, rawData: RawJSON, on eventLoop: any EventLoop) -> EventLoopFuture<StreamPosition?> {
        broker.publish(channel: channel, event: event, rawData: rawData, options: PublishOptions(history: channels.features(for: channel).history), on: eventLoop)
    }

    /// Publishes as `publish(channel:event:rawData:on:)` does, calling `completion` on
    /// `eventLoop` instead of completing a future.
    public func publish(
        channel: String, event: String?, rawData: RawJSON, on eventLoop: any EventLoop,
        completion: @escaping @Sendable (Result<StreamPosition?, any Error>) -> Void
    ) {
        broker.publish(channel: channel, event: event, rawData: rawData, options: PublishOptions(history: channels.features(for: channel).history), on: eventLoop, completion: completion)
    }

    /// Publishes `data` (see `publish(channel:event:rawData:on:)`).
    public func publish(channel: String, event: String?, data: JSONValue, on eventLoop: any EventLoop) -> EventLoopFuture<StreamPosition?> {
        publish(channel: channel, event: event, rawData: RawJSON(data), on: eventLoop)
    }

    /// Publishes like `publish` and keeps the message as the channel's state, which every later
    /// subscriber, on any node, is sent at once (aiohttp-json-rpc's `notify(…, state=True)`), for
    /// the channel's state TTL (a day unless its rule says otherwise). Storing and publishing
    /// happen together: no subscriber sees one without the other.
    public func publishState(channel: String, event: String?, rawData: RawJSON, on eventLoop: any EventLoop) -> EventLoopFuture<StreamPosition?> {
        let features = channels.features(for: channel)
        let options = PublishOptions(history: features.history, stateTTL: features.stateTTL ?? ChannelFeatures.defaultStateTTL)
        return broker.publish(channel: channel, event: event, rawData: rawData, options: options, on: eventLoop)
    }

    /// Publishes to the channel's subscribers only, never to its history (join and leave
    /// events). Like `publish` otherwise; the position is always `nil`.
    public func publishTransient(channel: String, event: String?, rawData: RawJSON, on eventLoop: any EventLoop) -> EventLoopFuture<StreamPosition?> {
        broker.publish(channel: channel, event: event, rawData: rawData, options: .transient, on: eventLoop)
    }

    // MARK: - History and state

    /// Most messages one `history` read returns.
    public static var maxHistoryLimit: Int { 1000 }

    /// Reads the channel's history (see `ChannelFeatures.history`). Throws
    /// `BrokerError.cannotSubscribe` when the broker cannot be read.
    public func history(channel: String, query: HistoryQuery) async throws -> HistoryPage {
        try await historyStore.history(channel: channel, query: query)
    }

    /// Reads up to `limit` messages of `channel`'s history after `after` (or the newest first
    /// when `reverse`).
    public func history(channel: String, after: StreamOffset? = nil, limit: Int, reverse: Bool = false) async throws -> HistoryPage {
        try await history(channel: channel, query: HistoryQuery(after: after, limit: min(max(limit, 0), Self.maxHistoryLimit), reverse: reverse))
    }

    /// Everything in `channel`'s history after `position` (page by page), and whether that is
    /// everything the client missed (`problem` is `nil`), or why not.
    public func missed(channel: String, since position: StreamPosition) async throws -> (messages: [HistoryMessage], page: HistoryPage, problem: String?) {
        try await historyStore.missed(channel: channel, since: position)
    }

    /// The channel's state, or `nil`. Throws `BrokerError.cannotSubscribe` when the broker cannot
    /// be read.
    public func state(of channel: String) async throws -> ChannelState? {
        try await historyStore.state(of: channel)
    }

    // MARK: - Presence

    /// Everyone in the channel's presence, on every node.
    public func presenceList(channel: String) async throws -> [PresenceEntry] {
        try await presenceStore.presenceList(channel: channel)
    }

    /// Adds socket `id` to `channel`'s presence (once, however many patterns it subscribes) and
    /// announces `$join` when the channel wants join/leave events. A socket that left the
    /// channel, or closed, while this ran leaves nothing behind.
    func joinPresence(_ id: SocketID, channel: String, entry: PresenceEntry, features: ChannelFeatures, on eventLoop: any EventLoop, logger: Logger) async {
        guard presence.add(id, channel: channel, entry: entry) else { return }
        // `disconnect` leaves the registry before presence: a socket gone by now is seen here,
        // or its removal finds this entry.
        guard channels.holds(id, channel: channel) else {
            _ = presence.remove(id, channel: channel)
            return
        }
        do {
            try await presenceStore.presenceAdd(channel: channel, entries: [entry])
        } catch {
            logger.warning("cannot record presence", metadata: ["channel": "\(channel)", "error": "\(error)"])
        }
        // Removed meanwhile (it left, or closed): its removal may have reached the store first.
        guard presence.contains(id, channel: channel) else {
            await presenceStore.presenceRemove(channel: channel, sockets: [entry.socket])
            return
        }
        if features.joinLeave { announce("$join", entry: entry, channel: channel, on: eventLoop) }
    }

    /// A socket's entry left `channel`'s presence: removed at the store, `$leave` announced
    /// where the channel wants it.
    func leftPresence(_ membership: PresenceTracker.Membership, on eventLoop: any EventLoop) async {
        await presenceStore.presenceRemove(channel: membership.channel, sockets: [membership.entry.socket])
        if channels.features(for: membership.channel).joinLeave {
            announce("$leave", entry: membership.entry, channel: membership.channel, on: eventLoop)
        }
    }

    private func announce(_ event: String, entry: PresenceEntry, channel: String, on eventLoop: any EventLoop) {
        _ = publishTransient(channel: channel, event: event, rawData: RawJSON(.object(entry.json)), on: eventLoop)
    }
}

extension HistoryStore {
    /// Everything in `channel`'s history after `position` (page by page), and whether that is
    /// everything the client missed (`problem` is `nil`), or why not.
    public func missed(channel: String, since position: StreamPosition) async throws -> (messages: [HistoryMessage], page: HistoryPage, problem: String?) {
        let limit = Hub.maxHistoryLimit
        var messages: [HistoryMessage] = []
        var first = try await history(channel: channel, query: HistoryQuery(after: position.offset, limit: limit))
        if let problem = first.recoveryProblem(from: position), first.epoch == nil || (!position.epoch.isEmpty && first.epoch != position.epoch) {
            return ([], first, problem)
        }
        let problem = first.recoveryProblem(from: position)
        while true {
            messages.append(contentsOf: first.messages)
            guard first.messages.count == limit, let last = first.messages.last else { break }
            let next = try await history(channel: channel, query: HistoryQuery(after: last.offset, limit: limit))
            guard next.epoch == first.epoch else { return (messages, next, "the channel's history was lost during the read") }
            first = next
        }
        return (messages, first, problem)
    }
}
