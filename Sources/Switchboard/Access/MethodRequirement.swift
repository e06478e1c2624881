/// Who may call a method (aiohttp-json-rpc's `login_required`, `permission_required` and
/// `user_passes_test`). A method a connection may not call is hidden from it: `get_methods` does
/// not list it and calling it answers as for a method that does not exist.
///
/// ```swift
/// router.register("ping", requires: .login) { … }
/// router.register("purge", requires: .permission("admin")) { … }
/// router.register("beta", requires: .test { $0.permissions.contains("beta") || $0.userID == "ann" }) { … }
/// ```
public enum MethodRequirement: Sendable {
    /// Anyone, also anonymous connections (the default).
    case anyone
    /// A connection with a valid token.
    case login
    /// A connection whose token grants this permission.
    case permission(String)
    /// A connection whose identity passes the test.
    case test(@Sendable (Identity) -> Bool)

    /// `true` when `identity` may call the method.
    public func allows(_ identity: Identity) -> Bool {
        switch self {
        case .anyone: true
        case .login: identity.isAuthenticated
        case .permission(let permission): identity.permissions.contains(permission)
        case .test(let test): test(identity)
        }
    }
}
