public import NIOCore

/// `info` (alias `server_info`) → `{"connections", "channels", "broker", "node"?, "socket"}` for
/// this node (`socket`: the caller's cluster-wide id).
///
/// Where tokens are checked (a key is configured and authentication is not off), `channels`
/// lists only the caller's own channels, unless its token grants the `admin` permission: other
/// users' channel names are not a plain client's business. A node everyone may use alike (auth
/// off, or no key) lists every channel, as `/stream`'s protocol has it.
public struct InfoMethod: RPCMethod {
    /// The permission that shows every channel of the node.
    public static let adminPermission = "admin"

    let nodeInfo: (@Sendable () -> JSONObject)?

    public init(nodeInfo: (@Sendable () -> JSONObject)? = nil) {
        self.nodeInfo = nodeInfo
    }

    public func call(payload: JSONObject, context: RPCContext) -> EventLoopFuture<JSONValue> {
        let restricted = !context.access.isOpen && !context.identity.permissions.contains(Self.adminPermission)
        var info = context.hub.serverInfo(only: restricted ? Set(context.hub.channels.subscriptions(of: context.socketID).keys) : nil)
        if let nodeInfo { info["node"] = .object(nodeInfo()) }
        info["socket"] = .string(context.socket.id)
        return context.eventLoop.makeSucceededFuture(.object(info))
    }
}

/// `session` → `{"socket": <cluster-wide id>, "node": <node id>, "protocol": <stream, jsonrpc or
/// wsrpc>, "user": <user or null>, "permissions": [...]}`: the id to give `POST /call` or
/// `hub.call(socket:…)` to reach this socket, and who is on it (from a token or the connect proxy).
public struct SessionMethod: RPCMethod {
    public init() {}

    public func call(payload: JSONObject, context: RPCContext) -> EventLoopFuture<JSONValue> {
        context.eventLoop.makeSucceededFuture([
            "socket": .string(context.socket.id),
            "node": .string(context.hub.nodeID),
            "protocol": .string(context.socket.protocolName),
            "user": context.identity.userID.map(JSONValue.string) ?? .null,
            "permissions": .array(context.identity.permissions.sorted().map(JSONValue.string)),
        ])
    }
}

