/// The `match` of a channel rule: a channel name, a glob (`private:*`), or a pattern with the
/// placeholder `{sub}` (`user:{sub}`), which matches any non-empty part and names the channel's
/// owner for the `owner` rule.
public struct ChannelPattern: Sendable, Equatable, CustomStringConvertible {
    /// The pattern as written.
    public let source: String
    private let whole: GlobPattern?
    private let prefix: GlobPattern?
    private let suffix: GlobPattern?
    private let prefixText: String
    private let suffixText: String

    public init(_ source: String) {
        self.source = source
        if let range = source.firstRange(of: "{sub}") {
            prefixText = String(source[..<range.lowerBound])
            suffixText = String(source[range.upperBound...])
            whole = nil
            prefix = GlobPattern(prefixText)
            suffix = GlobPattern(suffixText)
        } else {
            prefixText = ""
            suffixText = ""
            whole = GlobPattern(source)
            prefix = nil
            suffix = nil
        }
    }

    /// `true` when the pattern names an owner (`{sub}`).
    public var hasOwner: Bool { whole == nil }

    /// Whether `channel` matches and, for a `{sub}` pattern, whose it is. The prefix and suffix of
    /// a `{sub}` pattern are literal. Channels are bytes: the comparison is of UTF-8 bytes, never
    /// of canonically equivalent characters.
    public func match(_ channel: String) -> (matches: Bool, owner: String?) {
        if let whole { return (whole.matches(channel), nil) }
        let bytes = channel.utf8
        let (head, tail) = (prefixText.utf8, suffixText.utf8)
        guard bytes.count > head.count + tail.count, bytes.starts(with: head), bytes.reversed().starts(with: tail.reversed()) else {
            return (false, nil)
        }
        let owner = bytes.dropFirst(head.count).dropLast(tail.count)
        return (true, String(decoding: owner, as: UTF8.self))
    }

    public var description: String { source }

    public static func == (lhs: ChannelPattern, rhs: ChannelPattern) -> Bool { lhs.source == rhs.source }
}
