/// Who may subscribe to, or publish on, the channels of a rule (the rule words of docs/security.md).
public enum AccessRule: Sendable, Equatable, CustomStringConvertible {
    /// Anyone, also anonymous connections.
    case any
    /// Any connection with a valid token.
    case login
    /// A token whose `permissions` hold this one.
    case permission(String)
    /// A token whose `channels` (subscribe) or `publish` (publish) globs cover the channel.
    case token
    /// The user the channel names: `{sub}` in the rule's pattern equals the token's `sub`.
    case owner
    /// Only the server side: the HTTP API with an API key, and the node's own code.
    case server
    /// The application's backend decides, each time (the subscribe or publish proxy,
    /// docs/proxy.md); a publish's data may be rewritten by it.
    case proxy

    /// Reads a rule word: `any`, `login`, `permission:X`, `token`, `owner`, `server`, `proxy`.
    public init?(_ word: String) {
        switch word {
        case "any": self = .any
        case "login": self = .login
        case "token": self = .token
        case "owner": self = .owner
        case "server": self = .server
        case "proxy": self = .proxy
        default:
            guard word.hasPrefix("permission:"), word.count > "permission:".count else { return nil }
            self = .permission(String(word.dropFirst("permission:".count)))
        }
    }

    public var description: String {
        switch self {
        case .any: "any"
        case .login: "login"
        case .permission(let permission): "permission:\(permission)"
        case .token: "token"
        case .owner: "owner"
        case .server: "server"
        case .proxy: "proxy"
        }
    }
}
