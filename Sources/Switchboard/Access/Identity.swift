/// Who is on a connection: anonymous, or the user a token names, with what the token grants.
///
/// A JWT's claims map onto it: `sub` (the user), `exp` (when it expires), `permissions`
/// (strings), `channels` (globs of channels the user may subscribe to), `publish` (globs of
/// channels it may publish to), and `info` (any JSON, shown to presence and `info`).
public struct Identity: Sendable, Equatable {
    /// `true` once a valid token was presented.
    public var isAuthenticated: Bool
    /// The user (`sub`).
    public var userID: String?
    /// Permissions (`permissions`).
    public var permissions: Set<String>
    /// Globs of the channels the token lets the user subscribe to (`channels`).
    public let channelPatterns: [GlobPattern]
    /// Globs of the channels the token lets the user publish to (`publish`).
    public let publishPatterns: [GlobPattern]
    /// Anything about the user that others may see (`info`).
    public var info: JSONValue?
    /// When the token expires, in seconds since 1970 (`exp`), if it does.
    public var expiresAt: Double?
    /// The token's claims as signed (`nil` without a token), for the application's backend.
    public var claims: JSONObject?

    public init(
        userID: String?,
        permissions: Set<String> = [],
        channels: [String] = [],
        publish: [String] = [],
        info: JSONValue? = nil,
        expiresAt: Double? = nil,
        claims: JSONObject? = nil
    ) {
        self.isAuthenticated = true
        self.userID = userID
        self.permissions = permissions
        self.channelPatterns = channels.map(GlobPattern.init)
        self.publishPatterns = publish.map(GlobPattern.init)
        self.info = info
        self.expiresAt = expiresAt
        self.claims = claims
    }

    private init() {
        isAuthenticated = false
        userID = nil
        permissions = []
        channelPatterns = []
        publishPatterns = []
        info = nil
        expiresAt = nil
        claims = nil
    }

    /// Nobody: no token.
    public static let anonymous = Identity()

    /// `true` when the token's `channels` claim covers `channel`.
    public func claimsSubscribe(to channel: String) -> Bool {
        channelPatterns.contains { $0.matches(channel) }
    }

    /// `true` when the token's `publish` claim covers `channel`.
    public func claimsPublish(to channel: String) -> Bool {
        publishPatterns.contains { $0.matches(channel) }
    }

    /// `true` once `expiresAt` has passed (`now` in seconds since 1970).
    public func isExpired(now: Double) -> Bool {
        guard let expiresAt else { return false }
        return now >= expiresAt
    }

    /// What `login` and `session` show of the identity.
    public var summary: JSONObject {
        guard isAuthenticated else { return ["user": nil, "authenticated": false] }
        var object: JSONObject = [
            "user": userID.map(JSONValue.string) ?? .null,
            "authenticated": true,
            "permissions": .array(permissions.sorted().map(JSONValue.string)),
        ]
        if let expiresAt { object["expires_at"] = .number(JSONNumber(expiresAt)) }
        if let info { object["info"] = info }
        return object
    }
}

/// Checks tokens: a JWT verifier in the node (`SwitchboardServer`), anything in tests.
public protocol TokenVerifier: Sendable {
    /// The identity `token` proves, or why it proves nothing (a reason a person can read).
    func identity(for token: String) async throws(TokenRejection) -> Identity
}

/// Why a token was refused.
public struct TokenRejection: Error, Sendable, Equatable, CustomStringConvertible {
    /// The reason, for the client and the log (`token expired`, `bad signature`…).
    public var reason: String
    /// `true` when the token was valid but has expired.
    public var expired: Bool

    public init(_ reason: String, expired: Bool = false) {
        self.reason = reason
        self.expired = expired
    }

    public var description: String { reason }
}
