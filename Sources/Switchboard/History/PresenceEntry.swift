/// One socket in a channel's presence: who it is and where.
public struct PresenceEntry: Sendable, Equatable {
    /// The socket's cluster-wide id (`<node>.<n>`).
    public var socket: String
    /// The node that holds it.
    public var node: String
    /// The token's `sub`, when the connection is logged in.
    public var user: String?
    /// The token's `info` claim, when there is one.
    public var info: JSONValue?

    public init(socket: String, node: String, user: String? = nil, info: JSONValue? = nil) {
        self.socket = socket
        self.node = node
        self.user = user
        self.info = info
    }

    /// `{"socket", "node", "user", "info"}` (`user` and `info` null when absent).
    public var json: JSONObject {
        ["socket": .string(socket), "node": .string(node), "user": user.map(JSONValue.string) ?? .null, "info": info ?? .null]
    }

    /// Reads the JSON form.
    public init?(json: JSONValue) {
        guard let socket = json["socket"]?.stringValue, let node = json["node"]?.stringValue else { return nil }
        self.init(socket: socket, node: node, user: json["user"]?.stringValue, info: json["info"].flatMap { $0 == .null ? nil : $0 })
    }
}
