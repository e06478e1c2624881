import Switchboard

/// `redis://[user:password@]host[:port][/db]` (also `redis://:password@host`); `rediss://` for
/// Redis over TLS. `redis+cluster://[user:password@]host1:port1,host2:port2,…` (or
/// `rediss+cluster://`) names a Redis Cluster by some of its nodes: the rest is discovered.
public struct RedisURL: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// `true` for `rediss://`: the connection is TLS.
    public var tls: Bool = false
    public var user: String?
    public var password: String?
    public var database: Int
    /// `true` for `redis+cluster://`: a Redis Cluster, whose nodes `seeds` name.
    public var cluster: Bool = false
    /// The nodes named in the URL (`host:port` first); more than one only for a cluster.
    public var seeds: [RedisNodeAddress] = []

    public init(host: String = "127.0.0.1", port: Int = 6379, user: String? = nil, password: String? = nil, database: Int = 0) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.seeds = [RedisNodeAddress(host: host, port: port)]
    }

    /// Parses a URL; percent-escapes in the user and password are decoded.
    public init(_ string: String) throws(RedisError) {
        guard let scheme = ["redis://", "rediss://", "redis+cluster://", "rediss+cluster://"].first(where: { string.hasPrefix($0) }) else {
            throw .invalidURL(string)
        }
        let tls = scheme.hasPrefix("rediss")
        let cluster = scheme.contains("+cluster")
        var rest = Substring(string.dropFirst(scheme.count))
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
        var seeds: [RedisNodeAddress] = []
        for part in rest.split(separator: ",", omittingEmptySubsequences: false) {
            guard let address = HostAndPort(part, defaultPort: 6379) else { throw .invalidURL(string) }
            seeds.append(RedisNodeAddress(host: address.host, port: address.port))
        }
        // A cluster has one database (SELECT is refused there); a single Redis has one address.
        guard let first = seeds.first, cluster || seeds.count == 1, !cluster || database == 0 else { throw .invalidURL(string) }
        self.init(host: first.host, port: first.port, user: user, password: password, database: database)
        self.tls = tls
        self.cluster = cluster
        self.seeds = seeds
    }

    /// The same credentials and TLS for one node of a cluster (a plain single-node URL).
    public func node(_ address: RedisNodeAddress) -> RedisURL {
        var url = RedisURL(host: address.host, port: address.port, user: user, password: password, database: cluster ? 0 : database)
        url.tls = tls
        return url
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
        if cluster {
            return "\(tls ? "rediss" : "redis")+cluster://\(credentials)\(seeds.map(\.description).joined(separator: ","))"
        }
        return "\(tls ? "rediss" : "redis")://\(credentials)\(HostAndPort.urlHost(host)):\(port)/\(database)"
    }
}
