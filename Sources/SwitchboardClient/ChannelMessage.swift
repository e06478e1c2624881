public import Switchboard

/// A message delivered on a channel: `{"channel", "event", "data"}`, and on channels with
/// history its `offset` and `epoch`.
public struct ChannelMessage: Sendable, Equatable, CustomStringConvertible {
    /// The channel it was published on.
    public var channel: String
    /// The event it was published with (`""` when none).
    public var event: String
    /// The data as published.
    public var data: JSONValue
    /// Its place in the channel's history (channels with history only).
    public var position: StreamPosition?

    public init(channel: String, event: String, data: JSONValue, position: StreamPosition? = nil) {
        self.channel = channel
        self.event = event
        self.data = data
        self.position = position
    }

    /// The message as JSON (with `offset` and `epoch` when it has a position).
    public var json: JSONValue {
        var object: JSONObject = ["channel": .string(channel), "event": .string(event), "data": data]
        if let position {
            object["offset"] = .string(position.offset.description)
            object["epoch"] = .string(position.epoch)
        }
        return .object(object)
    }

    public var description: String { json.jsonString }
}
