public import NIOCore

/// `info` (alias `server_info`) → `{"connections", "channels", "broker", "node"?, "socket"}` for
/// this node (`socket`: the caller's cluster-wide id).
public struct InfoMethod: RPCMethod {
    let nodeInfo: (@Sendable () -> JSONObject)?

    public init(nodeInfo: (@Sendable () -> JSONObject)? = nil) {
        self.nodeInfo = nodeInfo
    }

    public func call(payload: JSONObject, context: RPCContext) -> EventLoopFuture<JSONValue> {
        var info = context.manager.serverInfo()
        if let nodeInfo { info["node"] = .object(nodeInfo()) }
        info["socket"] = .string(context.socket.id)
        return context.eventLoop.makeSucceededFuture(.object(info))
    }
}

/// `session` → `{"socket": <cluster-wide id>, "node": <node id>, "protocol": <stream, jsonrpc or
/// wsrpc>}`: the id to give `POST /call` or `manager.call(socket:…)` to reach this socket.
public struct SessionMethod: RPCMethod {
    public init() {}

    public func call(payload: JSONObject, context: RPCContext) -> EventLoopFuture<JSONValue> {
        context.eventLoop.makeSucceededFuture([
            "socket": .string(context.socket.id),
            "node": .string(context.manager.nodeID),
            "protocol": .string(context.socket.protocolName),
        ])
    }
}

