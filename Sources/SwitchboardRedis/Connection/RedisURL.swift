import Switchboard

/// `redis://[user:password@]host[:port][/db]` (also `redis://:password@host`); `rediss://` for
/// Redis over TLS.
public struct RedisURL: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// `true` for `rediss://`: the connection is TLS.
    public var tls: Bool = false
    public var user: String?
    public var password: String?
    public var database: Int

    public init(host: String = "127.0.0.1", port: Int = 6379, user: String? = nil, password: String? = nil, database: Int = 0) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
    }

    /// Parses a URL; percent-escapes in the user and password are decoded.
    public init(_ string: String) throws(RedisError) {
        let tls = string.hasPrefix("rediss://")
        guard tls || string.hasPrefix("redis://") else { throw .invalidURL(string) }
        var rest = Substring(string.dropFirst(tls ? "rediss://".count : "redis://".count))
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            if !path.isEmpty {
                guard let value = Int(path), value >= 0 else { throw .invalidURL(string) }
                database = value
            }
            rest = rest[..<slash]
        }
        var user: String? = nil
        var password: String? = nil
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let name = credentials[..<colon]
                user = name.isEmpty ? nil : Self.decode(name)
                password = Self.decode(credentials[credentials.index(after: colon)...])
            } else {
                password = Self.decode(credentials)
            }
        }
        guard let address = HostAndPort(rest, defaultPort: 6379) else { throw .invalidURL(string) }
        self.init(host: address.host, port: address.port, user: user, password: password, database: database)
        self.tls = tls
    }

    private static func decode(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(),
                let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The URL without the password.
    public var description: String {
        let credentials = password == nil ? "" : "\(user ?? ""):***@"
        return "\(tls ? "rediss" : "redis")://\(credentials)\(HostAndPort.urlHost(host)):\(port)/\(database)"
    }
}
