public import NIOCore

/// `history {channel, limit?, since?, reverse?}` → `{"publications": [{"offset", "event",
/// "data"}], "offset", "epoch"}`: the channel's history window (at most `limit` messages, 100 by
/// default and 1,000 at most), after `since` (`{"offset", "epoch"}` or an offset), newest first
/// when `reverse`. Needs the right to subscribe to the channel, and a channel with history
/// (`history_size` in the configuration's `channels`).
///
/// A page holds at most `maxPageBytes` of data (at least one message): a page cut there says
/// `"truncated": true` and, for a forward read, where to go on from (`"next": {"offset",
/// "epoch"}`, to send as the next read's `since`).
public struct HistoryMethod: RPCMethod {
    /// Most bytes of message data in one page.
    public let maxPageBytes: Int

    public init(maxPageBytes: Int = 1 << 20) {
        self.maxPageBytes = maxPageBytes
    }

    public var parameterNames: [String] { ["channel", "limit", "since", "reverse"] }

    public func call(payload: JSONObject, context: RPCContext) -> EventLoopFuture<JSONValue> {
        var reader = PayloadReader(payload)
        let channel = reader.requiredString("channel")
        let limit = reader.optionalInteger("limit", in: 0...1000) ?? 100
        var since: StreamPosition? = nil
        if let value = payload["since"], value != .null {
            since = StreamPosition(json: value)
            if since == nil { reader.fail("since", "expected {\"offset\": \"<offset>\", \"epoch\": \"<epoch>\"} or an offset") }
        }
        var reverse = false
        switch payload["reverse"] {
        case nil, .null?: break
        case .bool(let value)?: reverse = value
        default: reader.fail("reverse", FieldProblem.notValidType)
        }
        do {
            try reader.check()
            try context.authorize(.subscribe, channel)
            guard context.hub.channels.features(for: channel).history != nil else {
                throw RPCError.invalidParameter("channel", "No history: this channel keeps none (history_size in the configuration's channels)")
            }
        } catch {
            return context.eventLoop.makeFailedFuture(error)
        }
        let (position, newestFirst, maxPageBytes) = (since, reverse, self.maxPageBytes)
        return context.eventLoop.makeFutureWithTask {
            _ = try await context.askBackend(.subscribe, channel)
            let page: HistoryPage
            do {
                page = try await context.hub.history(channel: channel, after: position?.offset, limit: limit, reverse: newestFirst)
            } catch {
                throw context.explain(error, channel: channel)
            }
            if let since = position, !since.epoch.isEmpty, let epoch = page.epoch, epoch != since.epoch {
                throw RPCError(code: RPCError.Code.serverError, message: "The channel's history started again: epoch \(epoch), not \(since.epoch)")
            }
            var bytes = 0
            let kept = page.messages.prefix { message in
                defer { bytes += message.rawData.readableBytes }
                return bytes == 0 || bytes + message.rawData.readableBytes <= maxPageBytes
            }
            var response: JSONObject = ["publications": .array(kept.map { message in
                .object([
                    "offset": .string(message.offset.description),
                    "event": message.event.map(JSONValue.string) ?? .null,
                    "data": RawJSON(unchecked: message.rawData).value,
                ])
            })]
            for member in page.position { response[member.key] = member.value }
            if kept.count < page.messages.count {
                response["truncated"] = true
                if !newestFirst, let last = kept.last {
                    response["next"] = ["offset": .string(last.offset.description), "epoch": page.epoch.map(JSONValue.string) ?? .null]
                }
            }
            return .object(response)
        }
    }
}

/// `presence {channel}` → `{"presence": [{"socket", "node", "user", "info"}]}`: who is subscribed
/// to the channel on every node. `presence_stats {channel}` → `{"sockets", "users"}`. Need the
/// right to subscribe to the channel, and a channel with presence (`presence` in the
/// configuration's `channels`).
public struct PresenceMethod: RPCMethod {
    /// `true` for `presence_stats`.
    let statsOnly: Bool

    public init(statsOnly: Bool = false) {
        self.statsOnly = statsOnly
    }

    public var parameterNames: [String] { ["channel"] }

    public func call(payload: JSONObject, context: RPCContext) -> EventLoopFuture<JSONValue> {
        var reader = PayloadReader(payload)
        let channel = reader.requiredString("channel")
        do {
            try reader.check()
            try context.authorize(.subscribe, channel)
            guard context.hub.channels.features(for: channel).presence else {
                throw RPCError.invalidParameter("channel", "No presence: this channel keeps none (presence in the configuration's channels)")
            }
        } catch {
            return context.eventLoop.makeFailedFuture(error)
        }
        let statsOnly = self.statsOnly
        return context.eventLoop.makeFutureWithTask {
            _ = try await context.askBackend(.subscribe, channel)
            let entries: [PresenceEntry]
            do {
                entries = try await context.hub.presenceList(channel: channel)
            } catch {
                throw context.explain(error, channel: channel)
            }
            if statsOnly {
                let users = Set(entries.compactMap(\.user))
                return ["sockets": .number(JSONNumber(entries.count)), "users": .number(JSONNumber(users.count))]
            }
            return ["presence": .array(entries.map { .object($0.json) })]
        }
    }
}
