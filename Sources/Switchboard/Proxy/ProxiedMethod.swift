public import NIOCore

/// Stands for every method the node does not define that its backend takes
/// (`BackendProxy.forwards(method:)`): the call goes to the backend with its parameters as
/// the client sent them (by name, by position, or none), and the backend's result or error
/// comes back in the caller's protocol.
public struct ProxiedMethod: ParamsRPCMethod {
    public let backend: any BackendProxy

    public init(backend: any BackendProxy) {
        self.backend = backend
    }

    public func call(params: RPCParams, context: RPCContext) -> EventLoopFuture<JSONValue> {
        backend.call(ProxyCallRequest(method: context.method, params: params.value, caller: context.proxyCaller), on: context.eventLoop)
    }
}
