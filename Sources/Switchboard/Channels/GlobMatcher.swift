/// Matches a glob in time linear in the event, whatever the pattern (no backtracking).
///
/// The pattern is cut at its stars: `P0 * P1 * … * Pk`. `P0` must match at the start and `Pk` at
/// the end (compared in place, from the end first, so most misses cost one comparison); each
/// middle part is found at its leftmost place after the previous one, which is where a greedy
/// glob match puts it, by a bit-parallel search (shift-and: one table lookup and a few word
/// operations per event character, for parts of up to 128 characters; a longer part, which only a
/// pattern that skipped `GlobPattern.problem` can have, is compared in place at each start).
/// Without a star the event must have the pattern's length and match it in place. No pattern and
/// no event makes it trap.
struct GlobMatcher: Sendable, Hashable {
    typealias Token = GlobPattern.Token

    private let head: [Token]
    /// `nil` when the pattern has no star.
    private let tail: [Token]?
    private let middles: [Segment]
    private let minimumLength: Int

    init(_ tokens: [Token]) {
        var parts: [[Token]] = [[]]
        for token in tokens {
            if token == .star { parts.append([]) } else { parts[parts.count - 1].append(token) }
        }
        head = parts[0]
        if parts.count == 1 {
            tail = nil
            middles = []
        } else {
            tail = parts[parts.count - 1]
            middles = parts.dropFirst().dropLast().filter { !$0.isEmpty }.map(Segment.init)
        }
        minimumLength = parts.reduce(0) { $0 + $1.count }
    }

    func matches(_ event: [Unicode.Scalar]) -> Bool {
        guard let tail else {
            return event.count == head.count && Self.matches(head, event, at: 0)
        }
        guard event.count >= minimumLength else { return false }
        let tailStart = event.count - tail.count
        // The tail first, from its last character: where most events differ.
        var index = tail.count - 1
        while index >= 0 {
            guard tail[index].accepts(event[tailStart + index]) else { return false }
            index -= 1
        }
        guard Self.matches(head, event, at: 0) else { return false }
        var cursor = head.count
        for segment in middles {
            guard let found = segment.firstMatch(in: event, from: cursor, before: tailStart) else { return false }
            cursor = found + segment.count
        }
        return true
    }

    private static func matches(_ tokens: [Token], _ event: [Unicode.Scalar], at start: Int) -> Bool {
        for (offset, token) in tokens.enumerated() where !token.accepts(event[start + offset]) { return false }
        return true
    }

    /// A middle part, searched with shift-and over up to 128 positions.
    struct Segment: Sendable, Hashable {
        /// Longest part the shift-and search takes (the bits of a `Mask`).
        static let maxShiftAnd = 128
        let tokens: [Token]
        /// For each ASCII character, the positions that accept it.
        private let ascii: [Mask]
        /// Positions that accept any character (`?`).
        private let anyPositions: Mask
        /// Non-ASCII literals: character → positions.
        private let others: [UInt32: Mask]
        /// Bracket sets, with their positions (checked for non-ASCII characters only).
        private let sets: [(GlobPattern.CharacterSet, Int)]

        var count: Int { tokens.count }

        init(_ tokens: [Token]) {
            self.tokens = tokens
            guard tokens.count <= Self.maxShiftAnd else {
                // Too long for the masks: compared in place instead (see `firstMatch`).
                (ascii, anyPositions, others, sets) = ([], Mask(), [:], [])
                return
            }
            var ascii = [Mask](repeating: Mask(), count: 128)
            var any = Mask()
            var others: [UInt32: Mask] = [:]
            var sets: [(GlobPattern.CharacterSet, Int)] = []
            for (position, token) in tokens.enumerated() {
                switch token {
                case .any: any.set(position)
                case .literal(let scalar):
                    if scalar.value < 128 { ascii[Int(scalar.value)].set(position) } else { others[scalar.value, default: Mask()].set(position) }
                case .set(let set):
                    sets.append((set, position))
                    for value in 0..<128 where set.contains(Unicode.Scalar(UInt8(value))) { ascii[value].set(position) }
                case .star: break
                }
            }
            for value in 0..<128 { ascii[value].formUnion(any) }
            self.ascii = ascii
            self.anyPositions = any
            self.others = others
            self.sets = sets
        }

        private func positions(accepting scalar: Unicode.Scalar) -> Mask {
            if scalar.value < 128 { return ascii[Int(scalar.value)] }
            var mask = anyPositions
            if let literal = others[scalar.value] { mask.formUnion(literal) }
            for (set, position) in sets where set.contains(scalar) { mask.set(position) }
            return mask
        }

        /// The leftmost start in `start..<end` where the whole part matches within the range.
        func firstMatch(in event: [Unicode.Scalar], from start: Int, before end: Int) -> Int? {
            guard end - start >= tokens.count else { return nil }
            guard tokens.count <= Self.maxShiftAnd else {
                return (start...(end - tokens.count)).first { GlobMatcher.matches(tokens, event, at: $0) }
            }
            let last = tokens.count - 1
            var state = Mask()
            for index in start..<end {
                state = state.shiftedInOne().intersection(positions(accepting: event[index]))
                if state.contains(last) { return index - last }
            }
            return nil
        }

        static func == (lhs: Segment, rhs: Segment) -> Bool { lhs.tokens == rhs.tokens }
        func hash(into hasher: inout Hasher) { hasher.combine(tokens) }
    }

    /// 128 bits: the positions of a part.
    struct Mask: Sendable, Hashable {
        var low: UInt64 = 0
        var high: UInt64 = 0

        mutating func set(_ bit: Int) {
            if bit < 64 { low |= 1 << UInt64(bit) } else { high |= 1 << UInt64(bit - 64) }
        }

        func contains(_ bit: Int) -> Bool {
            bit < 64 ? low & (1 << UInt64(bit)) != 0 : high & (1 << UInt64(bit - 64)) != 0
        }

        mutating func formUnion(_ other: Mask) {
            low |= other.low
            high |= other.high
        }

        func intersection(_ other: Mask) -> Mask {
            Mask(low: low & other.low, high: high & other.high)
        }

        /// Shifted up by one, with position 0 set: every position may start a match here.
        func shiftedInOne() -> Mask {
            Mask(low: (low << 1) | 1, high: (high << 1) | (low >> 63))
        }
    }
}

extension GlobPattern.Token {
    func accepts(_ scalar: Unicode.Scalar) -> Bool {
        switch self {
        case .literal(let literal): literal == scalar
        case .any: true
        case .set(let set): set.contains(scalar)
        case .star: true
        }
    }
}
