public import NIOCore
public import Switchboard

/// Who may connect and what connections may do: the access policy (tokens, channel rules), API
/// keys of the HTTP API, allowed origins, connection and request limits, and TLS.
public struct SecurityConfiguration: Sendable {
    /// The authentication mode, channel rules and token verifier.
    public var policy: AccessPolicy
    /// Keys for `POST /publish`, `/call`, `/emit` (`Authorization: apikey <key>`, `Authorization:
    /// Bearer <key>` or `X-API-Key: <key>`); when empty, those routes are closed, unless
    /// authentication is off (`httpAPIOpen`).
    public var apiKeys: [String]
    /// Origins a browser page may connect from: exact (`https://app.example.com`), a wildcard
    /// host (`*.example.com`, any scheme), or `*`. Empty: any. Requests without `Origin`
    /// (non-browser clients) are always allowed.
    public var allowedOrigins: [String]
    /// Most WebSocket connections the node holds at once (`nil`: no limit).
    public var maxConnections: Int?
    /// Most WebSocket connections from one IP address at once (`nil`: no limit).
    public var maxConnectionsPerIP: Int?
    /// Requests one socket may make per second, on average (`nil`: no limit); bursts of twice
    /// that pass. Over it a request is refused with an error; a socket that keeps going is
    /// closed with 1008.
    public var requestsPerSecond: Double?
    /// Most requests in one JSON-RPC batch; a larger batch is answered with one error.
    public var maxBatchSize: Int
    /// Most bytes of message data in one `history` page (at least one message is sent).
    public var maxHistoryPageBytes: Int
    /// Time a client has from its TCP connection to a finished upgrade (TLS handshake, request
    /// headers, token check): past it the connection is closed.
    public var handshakeTimeout: TimeAmount
    /// Certificate and key files for `wss://` and `https://`, or `nil` for plain text.
    public var tls: TLSFiles?

    /// PEM files of the node's certificate (chain) and private key.
    public struct TLSFiles: Sendable, Equatable {
        public var certificatePath: String
        public var privateKeyPath: String

        public init(certificatePath: String, privateKeyPath: String) {
            self.certificatePath = certificatePath
            self.privateKeyPath = privateKeyPath
        }
    }

    public init(
        policy: AccessPolicy = .open,
        apiKeys: [String] = [],
        allowedOrigins: [String] = [],
        maxConnections: Int? = nil,
        maxConnectionsPerIP: Int? = nil,
        requestsPerSecond: Double? = nil,
        maxBatchSize: Int = 100,
        maxHistoryPageBytes: Int = 1 << 20,
        handshakeTimeout: TimeAmount = .seconds(10),
        tls: TLSFiles? = nil
    ) {
        self.policy = policy
        self.apiKeys = apiKeys
        self.allowedOrigins = allowedOrigins
        self.maxConnections = maxConnections
        self.maxConnectionsPerIP = maxConnectionsPerIP
        self.requestsPerSecond = requestsPerSecond
        self.maxBatchSize = maxBatchSize
        self.maxHistoryPageBytes = maxHistoryPageBytes
        self.handshakeTimeout = handshakeTimeout
        self.tls = tls
    }

    /// `true` when the HTTP write API (`POST /publish`, `/call`, `/emit`) takes requests without
    /// an API key: none is configured and authentication is off. Otherwise it is closed until
    /// keys are configured.
    public var httpAPIOpen: Bool { apiKeys.isEmpty && policy.mode == .off }

    /// `true` when a page of `origin` may connect. The origin must be exactly
    /// `scheme://host[:port]`; it matches an entry that is the same origin, `*.domain` (any
    /// scheme, a host under that domain), or `*`.
    public func allows(origin: String) -> Bool {
        guard !allowedOrigins.isEmpty else { return true }
        if allowedOrigins.contains("*") { return true }
        guard let parsed = WebOrigin(origin) else { return false }
        for allowed in allowedOrigins {
            if allowed.hasPrefix("*.") {
                if parsed.isSubdomain(of: String(allowed.dropFirst(2))) { return true }
            } else if let entry = WebOrigin(allowed), entry == parsed {
                return true
            }
        }
        return false
    }

    /// `true` when the request carries one of the API keys: `Authorization: apikey <key>`,
    /// `Authorization: Bearer <key>`, or `X-API-Key: <key>`.
    public func acceptsAPIKey(authorization: String?, xAPIKey: String? = nil) -> Bool {
        var offered: [Substring] = []
        if let xAPIKey { offered.append(xAPIKey.trimmingPrefix(" ")) }
        if let authorization, let space = authorization.firstIndex(of: " ") {
            let scheme = authorization[..<space].lowercased()
            if scheme == "apikey" || scheme == "bearer" { offered.append(authorization[authorization.index(after: space)...].trimmingPrefix(" ")) }
        }
        return offered.contains { key in apiKeys.contains { constantTimeEqual($0, String(key)) } }
    }
}

/// Compares two strings in time that depends only on their lengths.
func constantTimeEqual(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8)
    let y = Array(b.utf8)
    guard x.count == y.count else { return false }
    var difference: UInt8 = 0
    for index in x.indices { difference |= x[index] ^ y[index] }
    return difference == 0
}
