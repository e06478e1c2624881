/// What a channel keeps beyond delivery: a history window, and presence. Read from the
/// configuration's `channels` rules (`history_size`, `history_ttl_s`, `presence`, `join_leave`).
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

    public init(history: History? = nil, presence: Bool = false, joinLeave: Bool = false) {
        self.history = history
        self.presence = presence
        self.joinLeave = joinLeave
    }

    /// No history, no presence: the channel works as plain publish/subscribe.
    public static let plain = ChannelFeatures()

    /// History lives this long after the last publish when a rule gives a size but no TTL.
    public static let defaultHistoryTTL = 3600

    /// The options a configuration rule gives.
    public init(rule: ChannelRule) {
        self.init(
            history: rule.historySize > 0 ? History(size: rule.historySize, ttl: rule.historyTTL > 0 ? rule.historyTTL : Self.defaultHistoryTTL) : nil,
            presence: rule.presence || rule.joinLeave,
            joinLeave: rule.joinLeave
        )
    }
}

/// The options of every channel, from the configuration's rules: the first matching rule's.
/// Nodes without such rules answer `.plain` without matching anything.
public struct ChannelFeatureTable: Sendable {
    private let rules: [ChannelRule]

    /// Options from `rules` (only rules that set history or presence count).
    public init(rules: [ChannelRule] = []) {
        self.rules = rules
    }

    /// `true` when no channel has options.
    public var isEmpty: Bool { !rules.contains { $0.historySize > 0 || $0.presence || $0.joinLeave } }

    /// The options of `channel`.
    public func features(for channel: String) -> ChannelFeatures {
        guard !isEmpty else { return .plain }
        for rule in rules where rule.match.match(channel).matches {
            return ChannelFeatures(rule: rule)
        }
        return .plain
    }
}
