import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// What a connection became after its first request.
enum NodeChannelResult: Sendable {
    /// Upgraded to a WebSocket RPC route: the pipeline serves it from now on, with no task attached.
    case webSocket
    /// Plain HTTP, served by the Hummingbird router.
    case http(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
}

/// Hummingbird child channel: HTTP/1.1 for the node's routes, and the WebSocket upgrade of the RPC
/// routes into `WebSocketConnectionHandler` (modelled on hummingbird-websocket's
/// `HTTP1WebSocketUpgradeChannel`, but without an async channel per socket).
struct NodeServerChannel: ServerChildChannel, HTTPChannelHandler {
    struct Value: ServerChildChannelValue {
        let result: EventLoopFuture<NodeChannelResult>
        let channel: any Channel
    }

    let responder: HTTPChannelHandler.Responder
    let upgrader: WebSocketUpgrader

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let upgrade = NIOTypedHTTPServerUpgradeConfiguration<NodeChannelResult>(
                upgraders: [upgrader],
                notUpgradingCompletionHandler: { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                        try channel.pipeline.syncOperations.addHandler(HTTPConnectionStateHandler(idleTimeout: nil, logger: logger))
                        let http = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                            wrappingChannelSynchronously: channel,
                            configuration: .init(isOutboundHalfClosureEnabled: true)
                        )
                        return .http(http)
                    }
                }
            )
            var configuration = NIOUpgradableHTTPServerPipelineConfiguration(upgradeConfiguration: upgrade)
            configuration.enablePipelining = false
            configuration.enableErrorHandling = false
            configuration.enableResponseHeaderValidation = false
            let result = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: configuration)
            return Value(result: result, channel: channel)
        }
    }

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.result.get() {
            case .webSocket:
                return
            case .http(let channel):
                await handleHTTP(asyncChannel: channel, logger: logger)
            }
        } catch {
            logger.debug("connection ended before its first request", metadata: ["error": "\(error)"])
        }
    }
}
