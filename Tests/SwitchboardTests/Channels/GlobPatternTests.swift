import Testing

@testable import Switchboard

@Suite("Glob event patterns")
struct GlobPatternTests {
    @Test("special forms", arguments: [
        ("*", ["", "a", "anything at all"], [String]()),
        ("h?llo", ["hello", "hallo", "h-llo", "h☃llo"], ["hllo", "heello", "hallox", "Hello"]),
        ("h*llo", ["hllo", "hello", "heeeello"], ["hellox", "xhello"]),
        ("h[ae]llo", ["hello", "hallo"], ["hillo", "hllo", "haello"]),
        ("h[^e]llo", ["hallo", "hbllo"], ["hello", "hllo"]),
        ("h[a-c]llo", ["hallo", "hbllo", "hcllo"], ["hdllo", "hllo"]),
        ("h[c-a]llo", ["hallo", "hbllo"], ["hdllo"]),
        ("user:*", ["user:1", "user:", "user:a:b"], ["user", "xuser:1", "admin:1"]),
        ("*:created", ["order:created", ":created"], ["order:created:x", "created"]),
        ("a*b*c", ["abc", "a1b2c", "aXXbYYc"], ["ab", "acb", "abcd"]),
        ("\\*", ["*"], ["a", ""]),
        ("a\\?b", ["a?b"], ["axb"]),
        ("[\\]]", ["]"], ["\\"]),
        ("foo", ["foo"], ["foo\n", "Foo", "fo", "fooo"]),
        ("a.b", ["a.b"], ["axb"]),
        ("x|y", ["x|y"], ["x", "xyz"]),
        ("NULL", ["NULL"], [""]),
    ])
    func forms(_ pattern: String, _ matching: [String], _ notMatching: [String]) {
        let glob = GlobPattern(pattern)
        for event in matching { #expect(glob.matches(event), "\(pattern) should match \(event)") }
        for event in notMatching { #expect(!glob.matches(event), "\(pattern) should not match \(event)") }
    }

    @Test("malformed patterns are literals and never fail", arguments: [
        ("[", ["["], ["a", ""]),
        ("a[", ["a["], ["a"]),
        ("[abc", ["[abc"], ["a"]),
        ("\\", ["\\"], [""]),
        ("ab\\", ["ab\\"], ["ab"]),
        ("(", ["("], [""]),
        ("+x", ["+x"], ["x"]),
        ("[]", [String](), ["", "]", "a"]),
        ("[^]", ["a", "]"], ["", "ab"]),
    ])
    func malformed(_ pattern: String, _ matching: [String], _ notMatching: [String]) {
        let glob = GlobPattern(pattern)
        for event in matching { #expect(glob.matches(event), "\(pattern) should match \(event)") }
        for event in notMatching { #expect(!glob.matches(event), "\(pattern) should not match \(event)") }
    }

    @Test("a star pattern matches an empty event; a named one never does")
    func emptyEvent() {
        #expect(GlobPattern("*").matches(""))
        #expect(GlobPattern("**").matches(""))
        #expect(!GlobPattern("a*").matches(""))
        #expect(!GlobPattern("?").matches(""))
    }

    @Test("long inputs stay fast (no exponential backtracking)")
    func pathological() {
        let pattern = GlobPattern(String(repeating: "a*", count: 100) + "b")
        #expect(!pattern.matches(String(repeating: "a", count: 1000)))
    }

    @Test("channel names: 1 to 256 bytes, no whitespace or control characters, not in the nodes' inbox namespace")
    func channelNames() {
        for valid in ["a", "news", "user:42", "Test", "ü☃", String(repeating: "x", count: 256), "NULL", "nodes", "Node:1", "x:node:1"] {
            #expect(ChannelName.isValid(valid), "\(valid)")
        }
        for invalid in ["", "bad channel", "tab\t", "nl\n", "nul\u{0}", "del\u{7F}", "nbsp\u{A0}", String(repeating: "x", count: 257), "zw\u{200B}", "node:abc", "node:"] {
            #expect(!ChannelName.isValid(invalid), "\(invalid.debugDescription)")
        }
    }
}

/// The linear matcher against a plain backtracking one, and its bounds.
@Suite("Glob matching: linear, bounded")
struct GlobMatcherTests {
    /// The definition, by backtracking: slow on purpose, for small inputs only.
    static func reference(_ pattern: [GlobPattern.Token], _ event: [Unicode.Scalar]) -> Bool {
        guard let first = pattern.first else { return event.isEmpty }
        let rest = Array(pattern.dropFirst())
        if first == .star {
            return (0...event.count).contains { reference(rest, Array(event.dropFirst($0))) }
        }
        guard let head = event.first, first.accepts(head) else { return false }
        return reference(rest, Array(event.dropFirst()))
    }

    @Test("agrees with the definition on every small pattern and event over a two-letter alphabet")
    func agrees() {
        var generator = SystemRandomNumberGenerator()
        let pieces = ["a", "b", "*", "?", "[a]", "[^a]", "ab", "*a", "b*"]
        for _ in 0..<4000 {
            let pattern = (0..<Int.random(in: 0...5, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
            let event = String((0..<Int.random(in: 0...8, using: &generator)).map { _ in Bool.random(using: &generator) ? "a" : "b" })
            let glob = GlobPattern(pattern)
            let expected = Self.reference(GlobPattern.compile(Array(pattern.unicodeScalars)), Array(event.unicodeScalars))
            #expect(glob.matches(event) == expected, "\(pattern) ~ \(event)")
        }
    }

    @Test("patterns that make a backtracking matcher explode are answered at once, rightly")
    func pathological() {
        let event = String(repeating: "a", count: 1024)
        let attack = GlobPattern("*" + String(repeating: "a", count: 100) + "b17")
        #expect(!attack.matches(event))
        let middles = GlobPattern("*" + String(repeating: "a", count: 60) + "b*" + String(repeating: "a", count: 60) + "*")
        #expect(!middles.matches(event))
        #expect(middles.matches(String(repeating: "a", count: 70) + "b" + String(repeating: "a", count: 70)))
        let manyStars = GlobPattern("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b")
        #expect(!manyStars.matches(event))
        #expect(GlobPattern("é*ñ?[ü]").matches("ééñxü"))
    }

    @Test("subscribing is refused for patterns over 128 characters or 16 wildcards")
    func bounds() {
        #expect(GlobPattern.problem(String(repeating: "a", count: 128)) == nil)
        #expect(GlobPattern.problem(String(repeating: "a", count: 129)) == "pattern too long (at most 128 characters)")
        #expect(GlobPattern.problem(String(repeating: "*a", count: 16)) == nil)
        #expect(GlobPattern.problem(String(repeating: "*a", count: 17)) == "pattern has too many wildcards (at most 16 of * ? [...])")
        #expect(GlobPattern.problem("*" + String(repeating: "a", count: 512) + "b1") != nil)
    }

    @Test("a pattern past the bounds (one that skipped `problem`) still matches correctly and never traps")
    func unboundedNeverTraps() {
        let middle = String(repeating: "a", count: 200)
        let pattern = GlobPattern("*x" + middle + "y*")
        #expect(pattern.matches("q" + "x" + middle + "y" + "z"))
        #expect(!pattern.matches("x" + String(repeating: "a", count: 199) + "y"))
        #expect(GlobPattern("*" + String(repeating: "?", count: 300) + "*").matches(String(repeating: "b", count: 300)))
        #expect(!GlobPattern("*" + String(repeating: "[ab]", count: 150) + "c*").matches(String(repeating: "a", count: 1000)))
    }
}
