/// The rule every broker applies to channel names before anything else: 1 to 256 bytes of UTF-8,
/// with no whitespace and no control characters, and not in the `node:` namespace, which holds
/// the nodes' inboxes (`<prefix>node:<node-id>`, DESIGN §7).
public enum ChannelName {
    /// Longest accepted channel name, in UTF-8 bytes.
    public static let maxBytes = 256
    /// The namespace of the nodes' inboxes.
    public static let reservedPrefix = "node:"

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
