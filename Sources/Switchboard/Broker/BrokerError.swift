/// Why a broker refused an operation. The RPC layer turns these into the protocol's replies:
/// `cannotPublish` → `{"channel": "Cannot publish to channel"}`, `cannotSubscribe` →
/// `{"channel": "Invalid channel"}`.
public enum BrokerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The channel cannot be published to (refused name, or the broker is unreachable).
    case cannotPublish
    /// The channel cannot be subscribed to (refused name, or the broker is unreachable).
    case cannotSubscribe

    public var description: String {
        switch self {
        case .cannotPublish: "Cannot publish to channel"
        case .cannotSubscribe: "Invalid channel"
        }
    }
}
