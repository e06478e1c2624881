/// Who may do what on a node (docs/security.md): the authentication mode, the channel rules, and the
/// token verifier. Every protocol and the HTTP API ask it.
///
/// A channel's first matching rule decides; the token's own `channels` and `publish` claims add
/// to what a rule allows (but never past `server`). A channel no rule matches is open under
/// `off`, and takes a valid token (or a claim covering it) otherwise. A node with no key to check
/// tokens with cannot have logged-in connections: under `optional` it is open, as under `off`
/// (`required` without a key refuses to start).
public struct AccessPolicy: Sendable {
    /// Whether connections need a token.
    public enum Mode: String, Sendable, CaseIterable {
        /// No authentication: everyone is anonymous (tokens are still read when given).
        case off
        /// A token is read when given; connections without one are anonymous.
        case optional
        /// Every connection must present a valid token.
        case required
    }

    /// What is being done to a channel.
    public enum Action: String, Sendable {
        case subscribe
        case publish
    }

    public var mode: Mode
    public var channels: [ChannelRule]
    /// Checks tokens; `nil` when no key is configured (then no token can be valid).
    public var verifier: (any TokenVerifier)?
    /// The application's backend, which decides on channels whose rule says `proxy`.
    public var backend: (any BackendProxy)?

    public init(mode: Mode = .off, channels: [ChannelRule] = [], verifier: (any TokenVerifier)? = nil, backend: (any BackendProxy)? = nil) {
        self.mode = mode
        self.channels = channels
        self.verifier = verifier
        self.backend = backend
    }

    /// `true` when some channel's publish rule asks the backend (and there is one to ask): a
    /// connection reads it once, not per publish.
    public var publishesAskBackend: Bool {
        backend != nil && channels.contains { $0.publish == .proxy }
    }

    /// `true` when the application's backend decides on `action` on `channel` (its rule says
    /// `proxy`), after `allows`.
    public func asksBackend(_ action: Action, _ channel: String) -> Bool {
        guard backend != nil, !channels.isEmpty, let (rule, _) = rule(for: channel) else { return false }
        return (action == .subscribe ? rule.subscribe : rule.publish) == .proxy
    }

    /// Everyone may do everything (the default of a development node).
    public static let open = AccessPolicy()

    /// `true` when channels without a rule are open: authentication is off, or no token can be
    /// checked.
    public var isOpen: Bool { mode == .off || verifier == nil }
    /// `true` when anyone may subscribe and publish anywhere (no tokens, no channel rules).
    public var allowsEveryone: Bool { isOpen && channels.isEmpty }

    /// The first rule matching `channel`, and the channel's owner for a `{sub}` rule.
    public func rule(for channel: String) -> (rule: ChannelRule, owner: String?)? {
        for rule in channels {
            let match = rule.match.match(channel)
            if match.matches { return (rule, match.owner) }
        }
        return nil
    }

    /// `true` when a connection of `identity` may `action` `channel`.
    public func allows(_ identity: Identity, _ action: Action, _ channel: String) -> Bool {
        if allowsEveryone { return true }
        let claimed = action == .subscribe ? identity.claimsSubscribe(to: channel) : identity.claimsPublish(to: channel)
        guard let (rule, owner) = rule(for: channel) else {
            return isOpen || identity.isAuthenticated || claimed
        }
        let word = (action == .subscribe ? rule.subscribe : rule.publish) ?? (isOpen ? .any : .login)
        switch word {
        case .any: return true
        case .login: return identity.isAuthenticated || claimed
        case .permission(let permission): return identity.permissions.contains(permission) || claimed
        case .token: return claimed
        case .owner:
            // Byte for byte: "e" + U+0301 does not own a channel named with U+00E9.
            let owns = identity.isAuthenticated && owner != nil && identity.userID != nil && owner!.utf8.elementsEqual(identity.userID!.utf8)
            return owns || claimed
        case .server: return false
        case .proxy: return backend != nil  // then the backend decides (`asksBackend`); without one, no one may
        }
    }

    /// What `action` on `channel` asks for, in words (for a refusal).
    public func requirement(_ action: Action, _ channel: String) -> String {
        guard let (rule, _) = rule(for: channel) else {
            return isOpen ? "nothing" : "channels without a rule take a valid token here"
        }
        let word = (action == .subscribe ? rule.subscribe : rule.publish) ?? (isOpen ? .any : .login)
        let what: String = switch word {
        case .any: "anyone"
        case .login: "a valid token"
        case .permission(let permission): "the permission \(permission) in the token"
        case .token: "a token whose \(action == .subscribe ? "channels" : "publish") claim covers the channel"
        case .owner: "the token of the user the channel names"
        case .server: "the server side only (the HTTP API with its key)"
        case .proxy: "the application's backend to allow it"
        }
        return "the rule \(rule.match) asks for \(what) to \(action.rawValue)"
    }

    /// The channel options of `channel` (history, presence), from its first matching rule.
    public func options(for channel: String) -> ChannelRule? {
        rule(for: channel)?.rule
    }
}
