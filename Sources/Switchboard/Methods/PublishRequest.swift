/// A validated publish: `{channel, data, event?}` with `data` a string, array, object or `null`
/// (numbers and booleans are "not valid type"). Shared by the `publish` RPC and `POST /publish`.
public struct PublishRequest: Sendable, Equatable {
    public let channel: String
    public let event: String?
    public let data: JSONValue

    /// Validates `payload`, reporting every failing field at once.
    public init(_ payload: JSONObject) throws(RPCError) {
        var reader = PayloadReader(payload)
        data = reader.required("data") { value in
            switch value {
            case .string, .array, .object, .null: true
            case .bool, .number: false
            }
        }
        channel = reader.requiredString("channel")
        event = reader.optionalString("event")
        if let event, event.utf8.count > EventName.maxBytes { reader.fail("event", EventName.tooLong) }
        try reader.check()
    }

    /// The publish response: `{"channel", "event" (or null), "data"}`.
    public var response: JSONValue { response(at: nil) }

    /// The publish response, with `"offset"` and `"epoch"` when the message has a `position` in
    /// the channel's history.
    public func response(at position: StreamPosition?) -> JSONValue {
        var object: JSONObject = ["channel": .string(channel), "event": event.map(JSONValue.string) ?? .null, "data": data]
        if let position {
            object["offset"] = .string(position.offset.description)
            object["epoch"] = .string(position.epoch)
        }
        return .object(object)
    }
}
