/// The `host[:port]` part of a URL, with IPv6 hosts in brackets (`[::1]:6379`); shared by the
/// Redis and WebSocket URL parsers.
package struct HostAndPort: Sendable, Equatable {
    package var host: String
    package var port: Int

    /// Parses `authority`, using `defaultPort` when it names none; `nil` when the host is empty,
    /// a `[` is not closed, or the port is not 1–65535.
    package init?(_ authority: Substring, defaultPort: Int) {
        var host = String(authority)
        var port = defaultPort
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                guard let value = Int(after.dropFirst()), (1...65535).contains(value) else { return nil }
                port = value
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            guard let value = Int(authority[authority.index(after: colon)...]), (1...65535).contains(value) else { return nil }
            port = value
        }
        guard !host.isEmpty else { return nil }
        self.host = host
        self.port = port
    }

    /// `host` as a URL writes it: an IPv6 address in brackets.
    package static func urlHost(_ host: String) -> String {
        host.contains(":") ? "[\(host)]" : host
    }
}
