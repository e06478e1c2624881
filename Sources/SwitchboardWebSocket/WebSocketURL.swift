import Switchboard

/// A `ws://` or `wss://host[:port][/path][?query]` address.
package struct WebSocketURL: Sendable, Equatable, CustomStringConvertible {
    package var host: String
    package var port: Int
    /// `true` for `wss://` (TLS).
    package var secure: Bool
    /// Path and query, as sent in the request line (at least `/`).
    package var target: String

    package enum ParseError: Error, CustomStringConvertible {
        case invalid(String)
        case httpScheme(String)

        package var description: String {
            switch self {
            case .invalid(let url): "not a WebSocket URL (ws://host:port/path or wss://…): \(url)"
            case .httpScheme(let url): "\(url) is an HTTP URL: use ws:// (or wss:// for TLS), for example ws://127.0.0.1:8080/stream"
            }
        }
    }

    package init(_ string: String) throws(ParseError) {
        var rest = Substring(string)
        if rest.hasPrefix("wss://") {
            rest = rest.dropFirst(6)
            secure = true
        } else if rest.hasPrefix("ws://") {
            rest = rest.dropFirst(5)
            secure = false
        } else if rest.hasPrefix("http://") || rest.hasPrefix("https://") {
            throw .httpScheme(string)
        } else {
            throw .invalid(string)
        }
        let slash = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = rest[..<slash]
        var target = String(rest[slash...])
        if target.isEmpty || target.hasPrefix("?") { target = "/" + target }
        guard let address = HostAndPort(authority, defaultPort: secure ? 443 : 80) else { throw .invalid(string) }
        self.host = address.host
        self.port = address.port
        self.target = target
    }

    /// The `Host` header value.
    package var hostHeader: String {
        let name = HostAndPort.urlHost(host)
        return port == (secure ? 443 : 80) ? name : "\(name):\(port)"
    }

    package var description: String { "\(secure ? "wss" : "ws")://\(hostHeader)\(target)" }
}
