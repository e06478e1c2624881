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

/// Hummingbird child channel: on each connection, the HTTP/1.1 decoder and encoder, the parse
/// error answerer, and the `WebSocketGate`, which on the first request either upgrades to a
/// WebSocket RPC route (no async channel, no task per socket) or hands the connection to the
/// Hummingbird router. With TLS, the TLS handler comes first.
struct NodeServerChannel: ServerChildChannel, HTTPChannelHandler {
    struct Value: ServerChildChannelValue {
        let result: EventLoopFuture<NodeChannelResult>
        let channel: any Channel
    }

    let responder: HTTPChannelHandler.Responder
    let endpoints: [String: RPCEndpoint]
    let node: NodeSockets
    let security: SecurityConfiguration
    let tls: TLSContextStore?

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let pipeline = channel.pipeline.syncOperations
            if let tls {
                try pipeline.addHandler(tls.makeHandler())
            }
            var limits = NIOHTTPDecoderLimitConfiguration()
            limits.maxHeaderFieldSize = 80 * 1024
            limits.maxHeaderListSize = 80 * 1024
            try pipeline.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes, informationalResponseStrategy: .drop, limitConfiguration: limits)))
            try pipeline.addHandler(HTTPErrorResponder())
            try pipeline.addHandler(HTTPResponseEncoder(configuration: .init()))
            let result = channel.eventLoop.makePromise(of: NodeChannelResult.self)
            try pipeline.addHandler(
                WebSocketGate(endpoints: endpoints, node: node, security: security, result: result, logger: logger) { channel in
                    try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                        wrappingChannelSynchronously: channel,
                        configuration: .init(isOutboundHalfClosureEnabled: true)
                    )
                }
            )
            return Value(result: result.futureResult, channel: channel)
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
