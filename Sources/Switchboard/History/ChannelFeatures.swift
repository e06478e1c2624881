/// What a channel keeps beyond delivery: a history window, presence, and a state. Read from the
/// configuration's `channels` rules (`history_size`, `history_ttl_s`, `presence`, `join_leave`,
/// `state`, `state_ttl_s`); the topics of `--topics` keep a state too.
public struct ChannelFeatures: Sendable, Equatable {
    /// The history window: at most `size` messages (approximately, on Redis), dropped `ttl`
    /// seconds after the last publish.
    public struct History: Sendable, Equatable {
        public var size: Int
        public var ttl: Int

        public init(size: Int, ttl: Int) {
            self.size = size
            self.ttl = ttl
        }
    }

    /// The history window, or `nil`.
    public var history: History?
    /// Whether the channel keeps presence (who is subscribed, on every node).
    public var presence: Bool
    /// Whether subscribers get `$join` and `$leave` messages.
    public var joinLeave: Bool
    /// How long the channel's state lives after it was set, in seconds; `nil`: the channel keeps
    /// no state (`publish {state: true}` is refused).
    public var stateTTL: Int?

    public init(history: History? = nil, presence: Bool = false, joinLeave: Bool = false, stateTTL: Int? = nil) {
        self.history = history
        self.presence = presence
        self.joinLeave = joinLeave
        self.stateTTL = stateTTL
    }

    /// No history, no presence: the channel works as plain publish/subscribe.
    public static let plain = ChannelFeatures()

    /// History lives this long after the last publish when a rule gives a size but no TTL.
    public static let defaultHistoryTTL = 3600
    /// A state lives this long after it was set when a rule gives no TTL: a day.
    public static let defaultStateTTL = 86_400

    /// The options a configuration rule gives.
    public init(rule: ChannelRule) {
        self.init(
            history: rule.historySize > 0 ? History(size: rule.historySize, ttl: rule.historyTTL > 0 ? rule.historyTTL : Self.defaultHistoryTTL) : nil,
            presence: rule.presence || rule.joinLeave,
            joinLeave: rule.joinLeave,
            stateTTL: rule.state ? (rule.stateTTL > 0 ? rule.stateTTL : Self.defaultStateTTL) : nil
        )
    }
}

/// The options of every channel, from the configuration's rules: the first matching rule's.
/// The declared topics (`--topics`) keep a state too. Nodes without such rules or topics answer
/// `.plain` without matching anything.
public struct ChannelFeatureTable: Sendable {
    private let rules: [ChannelRule]
    private let stateTopics: TopicCatalog

    /// Options from `rules` (only rules that set history, presence or state count); channels of
    /// `stateTopics` (when it declares any) keep a state.
    public init(rules: [ChannelRule] = [], stateTopics: TopicCatalog = TopicCatalog()) {
        self.rules = rules
        self.stateTopics = stateTopics
    }

    /// `true` when no channel has options.
    public var isEmpty: Bool {
        stateTopics.isOpen && !rules.contains { $0.historySize > 0 || $0.presence || $0.joinLeave || $0.state }
    }

    /// The options of `channel`.
    public func features(for channel: String) -> ChannelFeatures {
        guard !isEmpty else { return .plain }
        var features = rules.first { $0.match.match(channel).matches }.map(ChannelFeatures.init(rule:)) ?? .plain
        if features.stateTTL == nil, !stateTopics.isOpen, stateTopics.admits(channel) { features.stateTTL = ChannelFeatures.defaultStateTTL }
        return features
    }
}
