/// The payload of `subscribe` and `unsubscribe`: `{channel, event?, since?}`.
struct SubscriptionPayload {
    let channel: String
    /// The event pattern (`*` when the event is missing, `null` or empty).
    let pattern: String
    /// Where a recovering client stands in the channel's history (`subscribe` only).
    let since: StreamPosition?

    init(_ payload: JSONObject) throws(RPCError) {
        var reader = PayloadReader(payload)
        channel = reader.requiredString("channel")
        let event = reader.optionalString("event")
        if let event, event.utf8.count > EventName.maxBytes { reader.fail("event", EventName.tooLong) }
        switch payload["since"] {
        case nil, .null?:
            since = nil
        case let value?:
            since = StreamPosition(json: value)
            if since == nil { reader.fail("since", "expected {\"offset\": \"<offset>\", \"epoch\": \"<epoch>\"}") }
        }
        try reader.check()
        pattern = EventName.pattern(event)
        if let problem = GlobPattern.problem(pattern) { throw RPCError.invalidParameter("event", problem) }
    }
}
