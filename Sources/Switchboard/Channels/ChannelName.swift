/// The rule every broker applies to channel names before anything else: 1 to 256 bytes of UTF-8,
/// with no whitespace and no control characters, and not in the `node:` namespace, which holds
/// the nodes' inboxes (`<prefix>node:<node-id>`, docs/wsrpc.md).
public enum ChannelName {
    /// Longest accepted channel name, in UTF-8 bytes.
    public static let maxBytes = 256
    /// The namespace of the nodes' inboxes.
    public static let reservedPrefix = "node:"

    /// The rule, in one sentence, for messages.
    public static let rule = "a channel name is 1 to 256 bytes of UTF-8 with no whitespace or control characters, and does not start with node:"

    /// Why `name` may not be used as a channel, or `nil` when it may.
    public static func problem(_ name: String) -> String? {
        if isValid(name) { return nil }
        let count = name.utf8.count
        let what: String
        if count == 0 {
            what = "it is empty"
        } else if count > maxBytes {
            what = "it is \(count) bytes long"
        } else if name.utf8.starts(with: reservedPrefix.utf8) {
            what = "node: is reserved for the nodes' inboxes"
        } else if let bad = name.unicodeScalars.first(where: { !isValid(String($0)) }) {
            let kind = bad.properties.isWhitespace ? "whitespace" : "a control character"
            what = "it holds \(kind) (U+\(String(bad.value, radix: 16, uppercase: true)))"
        } else {
            what = "it is not accepted"
        }
        return "\(rule); \(what)"
    }

    /// `true` when `name` may be used as a channel.
    public static func isValid(_ name: String) -> Bool {
        let count = name.utf8.count
        guard count >= 1, count <= maxBytes, !name.utf8.starts(with: reservedPrefix.utf8) else { return false }
        for scalar in name.unicodeScalars {
            if scalar.value < 0x80 {
                // ASCII fast path: printable and not a space.
                if scalar.value <= 0x20 || scalar.value == 0x7F { return false }
                continue
            }
            if scalar.properties.isWhitespace { return false }
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator, .spaceSeparator, .surrogate, .unassigned:
                return false
            default:
                continue
            }
        }
        return true
    }
}
