import Switchboard

/// A `ws://host[:port][/path][?query]` address.
package struct WebSocketURL: Sendable, Equatable, CustomStringConvertible {
    package var host: String
    package var port: Int
    /// Path and query, as sent in the request line (at least `/`).
    package var target: String

    package enum ParseError: Error, CustomStringConvertible {
        case invalid(String)
        case tlsNotSupported(String)

        package var description: String {
            switch self {
            case .invalid(let url): "not a ws:// URL: \(url)"
            case .tlsNotSupported(let url): "wss:// is not supported by this client (terminate TLS at the load balancer): \(url)"
            }
        }
    }

    package init(_ string: String) throws(ParseError) {
        var rest = Substring(string)
        if rest.hasPrefix("wss://") { throw .tlsNotSupported(string) }
        if rest.hasPrefix("ws://") {
            rest = rest.dropFirst(5)
        } else if rest.hasPrefix("http://") {
            rest = rest.dropFirst(7)
        } else {
            throw .invalid(string)
        }
        let slash = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = rest[..<slash]
        var target = String(rest[slash...])
        if target.isEmpty || target.hasPrefix("?") { target = "/" + target }
        guard let address = HostAndPort(authority, defaultPort: 80) else { throw .invalid(string) }
        self.host = address.host
        self.port = address.port
        self.target = target
    }

    /// The `Host` header value.
    package var hostHeader: String {
        let name = HostAndPort.urlHost(host)
        return port == 80 ? name : "\(name):\(port)"
    }

    package var description: String { "ws://\(hostHeader)\(target)" }
}
