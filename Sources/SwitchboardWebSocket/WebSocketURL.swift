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
        var host = String(authority)
        var port = 80
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw .invalid(string) }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                guard let value = Int(after.dropFirst()), (1...65535).contains(value) else { throw .invalid(string) }
                port = value
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            guard let value = Int(authority[authority.index(after: colon)...]), (1...65535).contains(value) else { throw .invalid(string) }
            port = value
        }
        guard !host.isEmpty else { throw .invalid(string) }
        self.host = host
        self.port = port
        self.target = target
    }

    /// The `Host` header value.
    package var hostHeader: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == 80 ? name : "\(name):\(port)"
    }

    package var description: String { "ws://\(hostHeader)\(target)" }
}
