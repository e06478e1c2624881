/// The topics JSON-RPC clients may subscribe to (`--topics news,alerts`, or `topics` in the
/// configuration file): channel names, or globs (`rooms:*`) that admit every matching name. An
/// empty catalog admits every valid channel name.
public struct TopicCatalog: Sendable, Equatable {
    /// The topics as configured, in order.
    public let topics: [String]
    private let patterns: [GlobPattern]

    public init(_ topics: [String] = []) {
        self.topics = topics
        self.patterns = topics.map(GlobPattern.init)
    }

    /// `true` when no topic is declared: every valid channel name is a topic.
    public var isOpen: Bool { topics.isEmpty }

    /// `true` when `name` may be subscribed to as a topic.
    public func admits(_ name: String) -> Bool {
        guard ChannelName.isValid(name) else { return false }
        return isOpen || patterns.contains { $0.matches(name) }
    }

    public static func == (lhs: TopicCatalog, rhs: TopicCatalog) -> Bool { lhs.topics == rhs.topics }
}
