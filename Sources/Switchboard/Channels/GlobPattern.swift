/// A Redis-style glob matched against a whole event name, case-sensitively.
///
/// `*` matches any run of characters (also none), `?` exactly one character, `[abc]` one of the
/// listed characters, `[^a]` any character but those, `[a-z]` a range, and `\x` a literal `x`.
/// Everything else is literal. A pattern never fails to compile: an unclosed `[` is a literal
/// `[`, and a trailing `\` is a literal backslash. Characters are Unicode scalars.
///
/// ```swift
/// GlobPattern("user:*").matches("user:42")   // true
/// GlobPattern("h[ae]llo").matches("hollo")  // false
/// ```
public struct GlobPattern: Sendable, Hashable, CustomStringConvertible {
    /// The pattern as written.
    public let source: String
    private let tokens: [Token]
    private let kind: Kind

    private enum Kind: Hashable {
        case anything  // "*": every event, also the empty one
        case literal(String)  // no special characters: plain equality
        case glob(GlobMatcher)
    }

    /// Longest pattern a socket may subscribe with, in characters: matching costs at most a few
    /// operations per character of the event and per 64 characters of the pattern.
    public static let maxLength = 128
    /// Most wildcards (`*`, `?`, `[…]`) in one pattern.
    public static let maxWildcards = 16

    /// Why `source` may not be subscribed with (too long, too many wildcards), or `nil`.
    public static func problem(_ source: String) -> String? {
        let scalars = Array(source.unicodeScalars)
        if scalars.count > maxLength { return "pattern too long (at most \(maxLength) characters)" }
        let wildcards = compile(scalars).count { token in
            switch token {
            case .literal: false
            case .any, .star, .set: true
            }
        }
        if wildcards > maxWildcards { return "pattern has too many wildcards (at most \(maxWildcards) of * ? [...])" }
        return nil
    }

    enum Token: Hashable {
        case literal(Unicode.Scalar)
        case any
        case star
        case set(CharacterSet)
    }

    struct CharacterSet: Hashable {
        var negated: Bool
        var singles: [Unicode.Scalar]
        var ranges: [ClosedRange<UInt32>]

        func contains(_ scalar: Unicode.Scalar) -> Bool {
            let found = singles.contains(scalar) || ranges.contains { $0.contains(scalar.value) }
            return found != negated
        }
    }

    /// Compiles `source`; this never fails.
    public init(_ source: String) {
        self.source = source
        let tokens = GlobPattern.compile(Array(source.unicodeScalars))
        self.tokens = tokens
        if tokens == [.star] {
            kind = .anything
        } else if tokens.allSatisfy({ if case .literal = $0 { true } else { false } }) {
            var literal = String.UnicodeScalarView()
            for case .literal(let scalar) in tokens { literal.append(scalar) }
            kind = .literal(String(literal))
        } else {
            kind = .glob(GlobMatcher(tokens))
        }
    }

    public var description: String { source }

    /// `true` if the pattern matches every event name (`*`).
    public var matchesEverything: Bool { kind == .anything }

    /// Whether `event` matches the whole pattern.
    public func matches(_ event: String) -> Bool {
        switch kind {
        case .anything: return true
        case .literal(let literal): return literal.unicodeScalars.elementsEqual(event.unicodeScalars)
        case .glob: return matches(scalars: Array(event.unicodeScalars))
        }
    }

    /// Whether the event given as Unicode scalars matches the whole pattern. Linear in the
    /// event's length (see `GlobMatcher`): no pattern can make it backtrack.
    public func matches(scalars event: [Unicode.Scalar]) -> Bool {
        switch kind {
        case .anything: return true
        case .literal(let literal): return literal.unicodeScalars.elementsEqual(event)
        case .glob(let matcher): return matcher.matches(event)
        }
    }

    static func compile(_ pattern: [Unicode.Scalar]) -> [Token] {
        var tokens: [Token] = []
        var i = 0
        while i < pattern.count {
            let c = pattern[i]
            switch c {
            case "*":
                if tokens.last != .star { tokens.append(.star) }
                i += 1
            case "?":
                tokens.append(.any)
                i += 1
            case "\\":
                if i + 1 < pattern.count {
                    tokens.append(.literal(pattern[i + 1]))
                    i += 2
                } else {
                    tokens.append(.literal("\\"))
                    i += 1
                }
            case "[":
                if let (set, next) = parseSet(pattern, from: i + 1) {
                    tokens.append(.set(set))
                    i = next
                } else {
                    tokens.append(.literal("["))
                    i += 1
                }
            default:
                tokens.append(.literal(c))
                i += 1
            }
        }
        return tokens
    }

    /// Parses a bracket expression starting after `[`; `nil` when it is never closed.
    private static func parseSet(_ pattern: [Unicode.Scalar], from start: Int) -> (CharacterSet, Int)? {
        var set = CharacterSet(negated: false, singles: [], ranges: [])
        var i = start
        if i < pattern.count, pattern[i] == "^" {
            set.negated = true
            i += 1
        }
        while i < pattern.count {
            var c = pattern[i]
            if c == "]" { return (set, i + 1) }
            if c == "\\", i + 1 < pattern.count {
                i += 1
                c = pattern[i]
            }
            if i + 2 < pattern.count, pattern[i + 1] == "-", pattern[i + 2] != "]" {
                var end = pattern[i + 2]
                var next = i + 3
                if end == "\\", i + 3 < pattern.count {
                    end = pattern[i + 3]
                    next = i + 4
                }
                let low = min(c.value, end.value)
                let high = max(c.value, end.value)
                set.ranges.append(low...high)
                i = next
            } else {
                set.singles.append(c)
                i += 1
            }
        }
        return nil
    }
}
