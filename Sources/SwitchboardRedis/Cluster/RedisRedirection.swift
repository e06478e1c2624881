/// A Redis Cluster redirection error: `MOVED <slot> <host>:<port>` (the slot has a new owner:
/// update the map, send there from now on) or `ASK <slot> <host>:<port>` (during a migration:
/// send this one command there, after `ASKING`).
public struct RedisRedirection: Equatable, Sendable {
    /// Which redirection.
    public enum Kind: Sendable { case moved, ask }

    public let kind: Kind
    public let slot: HashSlot
    /// Where to send; the host is `nil` when Redis did not know its own address (`:6380`): it is
    /// then the host the command went to.
    public let host: String?
    public let port: Int

    /// Parses an error reply's text; `nil` when it is not a redirection.
    public init?(_ message: String) {
        let parts = message.split(separator: " ")
        guard parts.count == 3 else { return nil }
        switch parts[0] {
        case "MOVED": kind = .moved
        case "ASK": kind = .ask
        default: return nil
        }
        guard let number = Int(parts[1]), let slot = HashSlot(number), let colon = parts[2].lastIndex(of: ":"),
            let port = Int(parts[2][parts[2].index(after: colon)...]), (1...65535).contains(port)
        else { return nil }
        self.slot = slot
        let host = parts[2][..<colon]
        self.host = host.isEmpty ? nil : String(host.hasPrefix("[") && host.hasSuffix("]") ? host.dropFirst().dropLast() : host)
        self.port = port
    }
}
