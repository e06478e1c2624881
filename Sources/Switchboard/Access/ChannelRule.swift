/// One entry of the configuration's `channels`: which channels it covers, who may subscribe
/// and publish, and the channel options (history, presence) the channels get.
public struct ChannelRule: Sendable, Equatable {
    /// The channels: a name, a glob, or a pattern with `{sub}`.
    public var match: ChannelPattern
    /// Who may subscribe; `nil` takes the default (anyone under `--auth off`, else `login`).
    public var subscribe: AccessRule?
    /// Who may publish; `nil` takes the default as for `subscribe`.
    public var publish: AccessRule?
    /// Messages kept per channel for recovery (0: no history).
    public var historySize: Int
    /// How long a channel's history lives after its last message, in seconds.
    public var historyTTL: Int
    /// Whether the channels keep presence (who is subscribed, on every node).
    public var presence: Bool
    /// Whether subscribers get join and leave events.
    public var joinLeave: Bool
    /// Whether a publish may keep its message as the channel's state (`publish {state: true}`).
    public var state: Bool
    /// How long a channel's state lives after it was last set, in seconds (0: a day).
    public var stateTTL: Int

    public init(
        match: String,
        subscribe: AccessRule? = nil,
        publish: AccessRule? = nil,
        historySize: Int = 0,
        historyTTL: Int = 0,
        presence: Bool = false,
        joinLeave: Bool = false,
        state: Bool = false,
        stateTTL: Int = 0
    ) {
        self.state = state
        self.stateTTL = stateTTL
        self.match = ChannelPattern(match)
        self.subscribe = subscribe
        self.publish = publish
        self.historySize = historySize
        self.historyTTL = historyTTL
        self.presence = presence
        self.joinLeave = joinLeave
    }
}
