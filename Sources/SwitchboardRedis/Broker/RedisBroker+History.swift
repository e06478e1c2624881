import CoreMetrics
import Logging
import NIOCore
import Switchboard
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// History (Redis Streams), recovery after a lost subscriber connection, and presence.
extension RedisBroker {
    // MARK: - History

    /// Publishes to a history channel: XADD and PUBLISH in one script (and SET of the channel's
    /// state, for `stateTTL` seconds, when given), the message carrying its offset and epoch. The
    /// future gives that position.
    func publish(
        channel: String,
        event: String?,
        rawData: RawJSON,
        history: ChannelFeatures.History,
        stateTTL: Int?,
        on eventLoop: any EventLoop
    ) -> EventLoopFuture<StreamPosition?> {
        guard ChannelName.isValid(channel), let publisher = publisher(for: channel) else {
            return eventLoop.makeFailedFuture(BrokerError.cannotPublish)
        }
        let keys = configuration.historyKeys(channel)
        let script = RedisScripts.publishHistory(naming)
        let arguments = [
            "3", keys.stream, keys.epoch, stateKey(channel), naming.redisName(channel), String(history.size), String(history.ttl),
            HistoryEpoch.random(), String(stateTTL ?? 0),
        ]
        let payload = BrokerPayload.encodeBytes(event: event, rawData: rawData)
        let command = RESPEncoder.command(["EVALSHA", script.sha] + arguments, last: payload)
        return send(publish: command, channel: channel, on: publisher, replyOn: eventLoop, position: Self.position) {
            RESPEncoder.command(["EVAL", script.script] + arguments, last: payload)
        }
    }

    /// The `{offset, epoch}` the history script returns.
    static func position(_ reply: RESPValue) -> StreamPosition? {
        guard case .array(let parts) = reply, parts.count == 2,
            let offset = parts[0].string.flatMap(StreamOffset.init), let epoch = parts[1].string
        else { return nil }
        return StreamPosition(offset: offset, epoch: epoch)
    }

    public func history(channel: String, query: HistoryQuery) async throws -> HistoryPage {
        guard let publisher = publisher(for: channel) else { throw BrokerError.cannotSubscribe }
        let keys = configuration.historyKeys(channel)
        // Exclusive start after the offset; "-"/"+" for the open ends.
        // The script swaps the ends for a reverse read.
        let (start, end) = (query.after.map { "(\($0)" } ?? "-", "+")
        let reply: RESPValue
        do {
            reply = try await publisher.send([
                "EVAL", RedisScripts.readHistory, "2", keys.stream, keys.epoch,
                start, end, "\(max(query.limit, 0))", query.reverse ? "1" : "0",
            ]).get()
        } catch {
            logger.warning("cannot read a channel's history", metadata: ["channel": "\(channel)", "error": "\(error)"])
            throw BrokerError.cannotSubscribe
        }
        guard case .array(let parts) = reply, parts.count == 6 else {
            return HistoryPage(messages: [], epoch: nil, latest: nil)
        }
        let epoch = parts[0].string
        let latest = parts[1].string.flatMap(StreamOffset.init)
        let first = parts[2].string.flatMap(StreamOffset.init)
        let added = parts[3].integer ?? 0
        let length = parts[4].integer ?? 0
        var trimmed = StreamOffset.zero
        if added > length, let first { trimmed = Self.predecessor(of: first) }
        var messages: [HistoryMessage] = []
        if case .array(let entries) = parts[5] {
            for entry in entries {
                guard case .array(let pair) = entry, pair.count == 2, let offset = pair[0].string.flatMap(StreamOffset.init),
                      case .array(let fields) = pair[1], fields.count >= 2, let payload = fields[1].bytes,
                      let message = try? BrokerPayload.decode(payload)
                else { continue }
                messages.append(HistoryMessage(offset: offset, event: message.event, rawData: message.rawData))
            }
        }
        return HistoryPage(messages: messages, epoch: epoch, latest: latest, trimmedThrough: trimmed)
    }

    /// The stream id just before `offset`: anything up to it is gone when the first kept entry
    /// is `offset`.
    static func predecessor(of offset: StreamOffset) -> StreamOffset {
        if offset.minor > 0 { return StreamOffset(major: offset.major, minor: offset.minor - 1) }
        if offset.major > 0 { return StreamOffset(major: offset.major - 1, minor: UInt64.max) }
        return .zero
    }

    /// After a reconnection: reads what each recovering history channel missed while the
    /// subscriber connection was down, and delivers it before the live messages held meanwhile.
    func recover(_ positions: [String: StreamPosition]) async {
        for (channel, position) in positions {
            var read: [SubscriberReadState.HeldMessage]? = nil
            do {
                let (messages, page, problem) = try await missed(channel: channel, since: position)
                if let problem { logger.warning("history channel not fully recovered after the reconnection", metadata: ["channel": "\(channel)", "reason": "\(problem)"]) }
                if let epoch = page.epoch {
                    read = messages.map { SubscriberReadState.HeldMessage(event: $0.event, rawData: $0.rawData, position: StreamPosition(offset: $0.offset, epoch: epoch)) }
                }
            } catch {
                logger.warning("cannot read a channel's history after the reconnection", metadata: ["channel": "\(channel)", "error": "\(error)"])
            }
            let recovered = read?.count ?? 0
            let loop = subscriberLoop
            let fromStream = read
            try? await loop.submit {
                let out = self.reader.finishRecovery(of: channel, read: fromStream)
                var delivered = 0
                for message in out {
                    delivered += self.reader.delegate?.deliver(channel: channel, event: message.event, rawData: message.rawData, position: message.position, into: &self.reader.batch) ?? 0
                }
                self.reader.batch.dispatch()
                self.metrics.messagesDelivered.increment(by: Int64(delivered))
            }.get()
            if recovered > 0 { logger.info("recovered a history channel after the reconnection", metadata: ["channel": "\(channel)", "messages": "\(recovered)", "since": "\(position)"]) }
        }
    }

    // MARK: - Presence

    /// Milliseconds since the epoch (presence expiry times are wall-clock, shared by the nodes).
    static func nowMilliseconds() -> Int64 {
        Int64(time(nil)) * 1000
    }

    public func presenceAdd(channel: String, entries: [PresenceEntry]) async throws {
        guard let publisher = publisher(for: channel) else { throw BrokerError.cannotSubscribe }
        let keys = configuration.presenceKeys(channel)
        let ttl = configuration.presenceTTL
        let expiry = Self.nowMilliseconds() + ttl.nanoseconds / 1_000_000
        var arguments = ["EVAL", RedisScripts.presenceAdd, "2", keys.entries, keys.expiry, "\(expiry)", "\(max(ttl.nanoseconds / 1_000_000_000, 1) * 2)"]
        for entry in entries {
            arguments.append(entry.socket)
            arguments.append(JSONValue.object(entry.json).jsonString)
        }
        do {
            _ = try await publisher.send(arguments).get()
        } catch {
            throw BrokerError.cannotSubscribe
        }
    }

    public func presenceRemove(channel: String, sockets: [String]) async {
        guard let publisher = publisher(for: channel), !sockets.isEmpty else { return }
        let keys = configuration.presenceKeys(channel)
        _ = try? await publisher.send(["EVAL", RedisScripts.presenceRemove, "2", keys.entries, keys.expiry] + sockets).get()
    }

    public func presenceList(channel: String) async throws -> [PresenceEntry] {
        guard let publisher = publisher(for: channel) else { throw BrokerError.cannotSubscribe }
        let keys = configuration.presenceKeys(channel)
        let reply: RESPValue
        do {
            reply = try await publisher.send(["EVAL", RedisScripts.presenceList, "2", keys.entries, keys.expiry, "\(Self.nowMilliseconds())"]).get()
        } catch {
            throw BrokerError.cannotSubscribe
        }
        guard case .array(let flat) = reply else { return [] }
        var entries: [PresenceEntry] = []
        var index = 1
        while index < flat.count {
            if let text = flat[index].string, let value = try? JSONValue(parsing: text), let entry = PresenceEntry(json: value) {
                entries.append(entry)
            }
            index += 2
        }
        return entries.sorted { $0.socket < $1.socket }
    }

    /// Every third of the presence TTL, re-adds this node's entries (so they outlive a Redis
    /// restart, and vanish within the TTL if the node dies), until the task is cancelled (`run()`
    /// does when the broker closes).
    func refreshPresence() async {
        let period = Duration.nanoseconds(max(configuration.presenceTTL.nanoseconds / 3, 100_000_000))
        while !isClosed {
            do { try await Task.sleep(for: period) } catch { return }
            let channels = boundDelegate?.presenceEntries() ?? [:]
            guard !channels.isEmpty else { continue }
            for (channel, entries) in channels {
                try? await presenceAdd(channel: channel, entries: entries)
            }
        }
    }
}
