public import NIOCore
import Synchronization

/// The hot path: a message matched once per channel, encoded once, handed to each loop once.
extension ChannelRegistry {
    // MARK: - Delivery

    /// Delivers one message to every local socket with a pattern matching `event` (`nil` or
    /// `""` when published without one), at most once each. `rawData` is validated JSON text.
    /// Returns the number of sockets it went to.
    @discardableResult
    public func deliver(channel: String, event: String?, rawData: ByteBuffer, position: StreamPosition? = nil) -> Int {
        var batch = DeliveryBatch()
        let count = deliver(channel: channel, event: event, rawData: rawData, position: position, into: &batch)
        batch.dispatch()
        return count
    }

    /// Like `deliver(channel:event:rawData:)`, but collects the work in `batch` so that many
    /// messages cost one hop per event loop; call `batch.dispatch()` after the last one.
    @discardableResult
    public func deliver(channel: String, event: String?, rawData: ByteBuffer, position: StreamPosition? = nil, into batch: inout DeliveryBatch) -> Int {
        guard let (recipients, encoder) = recipients(channel: channel, event: event ?? "") else { return 0 }
        let needs = recipients.needs
        let stream = needs.stream
            ? encoder.encode(json: ChannelMessageText.make(format: .stream, channel: channel, event: event, rawData: rawData, position: position), deflate: needs.streamDeflated)
            : nil
        let jsonRPC = needs.jsonRPC
            ? encoder.encode(json: ChannelMessageText.make(format: .jsonRPC, channel: channel, event: event, rawData: rawData), deflate: needs.jsonRPCDeflated)
            : nil
        let message = OutboundMessage(stream: consume stream, jsonRPC: consume jsonRPC, history: position.map { ChannelOffset(channel: channel, offset: $0.offset) })
        let groups = recipients.groups
        if groups.count == 1 {
            // One event loop (the usual node): the message moves into the batch, not copied.
            batch.add(groups[0].sockets, message: consume message, loop: groups[0].loop)
            return groups[0].sockets.count
        }
        var count = 0
        for index in groups.indices {
            count += groups[index].sockets.count
            batch.add(groups[index].sockets, message: message, loop: groups[index].loop)
        }
        return count
    }

    /// The recipients of a message with `event` on `channel`. Patterns are matched outside the
    /// registry's lock (a channel with costly patterns never holds up the others), and the last
    /// event's match is kept: a burst of messages with one event matches once.
    func recipients(channel: String, event: String) -> (Recipients, any OutboundMessageEncoder)? {
        let lookup: Lookup = state.withLock { state in
            // The usual case, without copying the channel's entry.
            if let cached = state.everyEvent[channel] { return .found(cached, state.encoder) }
            guard var entry = state.channels[channel], !entry.patterns.isEmpty else { return .none }
            if entry.globs.isEmpty {
                // Every pattern is `*`: the recipients of every event, kept in `everyEvent` alone.
                let recipients = Self.group(entry.patterns.lazy.flatMap { $0.sockets.values })
                state.everyEvent[channel] = recipients
                return .found(recipients, state.encoder)
            }
            if let last = entry.lastMatch, last.event == event {
                guard let recipients = Self.recipients(of: last.matched, in: &entry) else { return .none }
                state.channels[channel] = entry
                return .found(recipients, state.encoder)
            }
            return .match(entry.globs, version: entry.version)
        }
        // Consumed: its parts move out (a copy retains each of them).
        switch consume lookup {
        case .none:
            return nil
        case .found(let recipients, let encoder):
            return (recipients, encoder)
        case .match(let globs, let version):
            let scalars = Array(event.unicodeScalars)
            let matched = globs.indices.filter { globs[$0].matches(scalars: scalars) }
            return state.withLock { state -> (Recipients, any OutboundMessageEncoder)? in
                guard var entry = state.channels[channel], !entry.patterns.isEmpty else { return nil }
                // Patterns changed meanwhile (rare): match again, under the lock.
                let indices = entry.version == version ? matched : entry.patterns.indices.filter { entry.patterns[$0].pattern.matches(scalars: scalars) }
                entry.lastMatch = (event, indices)
                let recipients = Self.recipients(of: indices, in: &entry)
                state.channels[channel] = entry
                return recipients.map { ($0, state.encoder) }
            }
        }
    }

    /// The recipients of the patterns at `matched`, from the caches when the match is all or one
    /// pattern (and filling them).
    static func recipients(of matched: [Int], in entry: inout ChannelEntry) -> Recipients? {
        if matched.isEmpty { return nil }
        if matched.count == entry.patterns.count {
            if let cached = entry.allRecipients { return cached }
            let recipients = group(entry.patterns.lazy.flatMap { $0.sockets.values })
            entry.allRecipients = recipients
            return recipients
        }
        if matched.count == 1 {
            let index = matched[0]
            if let cached = entry.patterns[index].recipients { return cached }
            let recipients = group(entry.patterns[index].sockets.values)
            entry.patterns[index].recipients = recipients
            return recipients
        }
        let patterns = entry.patterns
        return group(matched.lazy.flatMap { patterns[$0].sockets.values })
    }

    /// Groups sockets by event loop, once each, and notes the frames they need.
    static func group<S: Sequence<any SocketHandle>>(_ sockets: S) -> Recipients {
        var seen = Set<SocketID>()
        var index: [ObjectIdentifier: Int] = [:]
        var groups: [LoopGroup] = []
        var needs = FrameNeeds()
        for socket in sockets where seen.insert(socket.id).inserted {
            needs.add(socket)
            let key = ObjectIdentifier(socket.eventLoop)
            if let i = index[key] {
                groups[i].sockets.append(socket)
            } else {
                index[key] = groups.count
                groups.append(LoopGroup(loop: socket.eventLoop, sockets: [socket]))
            }
        }
        return Recipients(groups: groups, needs: needs)
    }
}
