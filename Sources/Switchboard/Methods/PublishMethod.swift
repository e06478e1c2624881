public import NIOCore

/// `publish {channel, data, event?}` → `{"channel", "event", "data"}`.
///
/// Publishes of one socket are pipelined: the broker keeps them in order, so the next request
/// need not wait for this one.
public struct PublishMethod: RPCMethod {
    public init() {}

    public var pipelined: Bool { true }

    public func call(payload: JSONObject, context: RPCContext) -> EventLoopFuture<JSONValue> {
        let request: PublishRequest
        do {
            request = try PublishRequest(payload)
        } catch {
            return context.eventLoop.makeFailedFuture(error)
        }
        return context.manager.publish(channel: request.channel, event: request.event, data: request.data, on: context.eventLoop)
            .map { _ in request.response }
    }
}
