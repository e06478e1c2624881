/// Reading an object member by member, without building its values.
extension JSONParser {
    /// Validates a JSON object and hands `visit` each member's key (its bytes in the text, see
    /// `JSONKey`) with the byte range of its value (whitespace trimmed), in order, without
    /// building the keys, the values or a list of them.
    /// `trusted`: the text was validated already (a request's payload, once its envelope was
    /// read), so values are stepped over by their brackets and quotes only.
    static func forEachMember(
        in bytes: UnsafeRawBufferPointer,
        maxDepth: Int = defaultMaxDepth,
        trusted: Bool = false,
        _ visit: (_ key: JSONKey, _ value: Range<Int>) -> Void
    ) throws(JSONParseError) {
        var parser = JSONParser(bytes, maxDepth: maxDepth)
        parser.skipWhitespace()
        guard parser.index < bytes.count, bytes[parser.index] == UInt8(ascii: "{") else { throw parser.error("expected an object") }
        parser.index += 1
        parser.skipWhitespace()
        if parser.index < bytes.count, bytes[parser.index] == UInt8(ascii: "}") {
            parser.index += 1
        } else {
            while true {
                parser.skipWhitespace()
                guard parser.index < bytes.count, bytes[parser.index] == UInt8(ascii: "\"") else { throw parser.error("expected a string key") }
                let keyStart = parser.index + 1
                let escaped = try parser.skipString()
                let key = JSONKey(raw: UnsafeRawBufferPointer(rebasing: bytes[keyStart..<parser.index - 1]), escaped: escaped)
                parser.skipWhitespace()
                guard parser.index < bytes.count, bytes[parser.index] == UInt8(ascii: ":") else { throw parser.error("expected ':'") }
                parser.index += 1
                parser.skipWhitespace()
                let start = parser.index
                if trusted {
                    parser.skipValidated()
                    guard parser.index > start else { throw parser.error("expected a value") }
                } else {
                    try parser.skip(depth: 1)
                }
                visit(key, start..<parser.index)
                parser.skipWhitespace()
                guard parser.index < bytes.count else { throw parser.error("unterminated object") }
                if bytes[parser.index] == UInt8(ascii: ",") {
                    parser.index += 1
                    continue
                }
                if bytes[parser.index] == UInt8(ascii: "}") {
                    parser.index += 1
                    break
                }
                throw parser.error("expected ',' or '}'")
            }
        }
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw parser.error("unexpected data after the JSON value") }
    }

    /// Steps over one value of text known to be valid JSON: brackets and strings (with their
    /// escapes) are followed, nothing is checked. A scalar ends at `,`, `}`, `]` or whitespace.
    private mutating func skipValidated() {
        var depth = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                while index < bytes.count {
                    // Eight bytes at a time up to the first quote or backslash.
                    _ = skipWords(until: Self.quoteOrBackslash)
                    guard index < bytes.count else { break }
                    let next = bytes[index]
                    index += 1
                    if next == UInt8(ascii: "\\") {
                        index += 1
                    } else if next == UInt8(ascii: "\"") {
                        break
                    }
                }
                // Text that was not valid after all (an escape at its very end) ends here.
                index = min(index, bytes.count)
                if depth == 0 { return }
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                index += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if depth == 0 { return }  // the container around a scalar
                depth -= 1
                index += 1
                if depth == 0 { return }
            case UInt8(ascii: ","), UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"):
                if depth == 0 { return }
                index += 1
            default:
                index += 1
            }
        }
    }
}
