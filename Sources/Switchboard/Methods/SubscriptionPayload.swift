/// The payload of `subscribe` and `unsubscribe`: `{channel, event?}`.
struct SubscriptionPayload {
    let channel: String
    /// The event pattern (`*` when the event is missing, `null` or empty).
    let pattern: String

    init(_ payload: JSONObject) throws(RPCError) {
        var reader = PayloadReader(payload)
        channel = reader.requiredString("channel")
        let event = reader.optionalString("event")
        if let event, event.utf8.count > EventName.maxBytes { reader.fail("event", EventName.tooLong) }
        try reader.check()
        pattern = EventName.pattern(event)
        if let problem = GlobPattern.problem(pattern) { throw RPCError.invalidParameter("event", problem) }
    }
}
