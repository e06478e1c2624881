public import NIOCore

/// `info` (alias `server_info`) → `{"connections", "channels", "broker", "node"?}` for this node.
public struct InfoMethod: RPCMethod {
    let nodeInfo: (@Sendable () -> JSONObject)?

    public init(nodeInfo: (@Sendable () -> JSONObject)? = nil) {
        self.nodeInfo = nodeInfo
    }

    public func call(payload: JSONObject, context: RPCContext) -> EventLoopFuture<JSONValue> {
        var info = context.manager.serverInfo()
        if let nodeInfo { info["node"] = .object(nodeInfo()) }
        return context.eventLoop.makeSucceededFuture(.object(info))
    }
}
