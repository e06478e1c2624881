public import Switchboard

/// A message delivered on a channel: `{"channel", "event", "data"}`.
public struct ChannelMessage: Sendable, Equatable, CustomStringConvertible {
    /// The channel it was published on.
    public var channel: String
    /// The event it was published with (`""` when none).
    public var event: String
    /// The data as published.
    public var data: JSONValue

    public init(channel: String, event: String, data: JSONValue) {
        self.channel = channel
        self.event = event
        self.data = data
    }

    /// The message as JSON.
    public var json: JSONValue {
        ["channel": .string(channel), "event": .string(event), "data": data]
    }

    public var description: String { json.jsonString }
}
