import Logging
import NIOCore
import NIOHTTP1
import NIOWebSocket
import Switchboard
import SwitchboardWebSocket

/// Upgrades `GET /stream` to a WebSocket: NIO's upgrader checks the handshake and builds the
/// accept header; this type negotiates per-message deflate and installs the frame decoder and
/// `StreamConnectionHandler` (no `NIOAsyncChannel`, no task per socket).
final class StreamUpgrader: NIOTypedHTTPServerProtocolUpgrader, Sendable {
    typealias UpgradeResult = StreamChannelResult

    let supportedProtocol = "websocket"
    let requiredUpgradeHeaders: [String] = []

    private let path: String
    private let endpoint: StreamEndpoint
    private let handshake: NIOTypedWebSocketServerUpgrader<StreamChannelResult>

    init(path: String, endpoint: StreamEndpoint) {
        self.path = path
        self.endpoint = endpoint
        let compression = endpoint.configuration.compression
        self.handshake = NIOTypedWebSocketServerUpgrader(
            maxFrameSize: endpoint.configuration.maxMessageSize,
            shouldUpgrade: { channel, head in
                var headers = HTTPHeaders()
                if compression, let deflate = PerMessageDeflate.negotiate(offers: head.headers[canonicalForm: "Sec-WebSocket-Extensions"].map(String.init)) {
                    headers.add(name: "Sec-WebSocket-Extensions", value: deflate.responseHeader)
                }
                return channel.eventLoop.makeSucceededFuture(headers)
            },
            upgradePipelineHandler: { channel, _ in
                channel.eventLoop.makeSucceededFuture(.webSocket)
            }
        )
    }

    /// The request path without its query.
    private static func path(of uri: String) -> Substring {
        uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
    }

    func buildUpgradeResponse(channel: any Channel, upgradeRequest: HTTPRequestHead, initialResponseHeaders: HTTPHeaders) -> EventLoopFuture<HTTPHeaders> {
        guard Self.path(of: upgradeRequest.uri) == path[...] else {
            return channel.eventLoop.makeFailedFuture(NIOWebSocketUpgradeError.unsupportedWebSocketTarget)
        }
        return handshake.buildUpgradeResponse(channel: channel, upgradeRequest: upgradeRequest, initialResponseHeaders: initialResponseHeaders)
    }

    func upgrade(channel: any Channel, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<StreamChannelResult> {
        let deflate: PerMessageDeflate? =
            endpoint.configuration.compression
            ? PerMessageDeflate.negotiate(offers: upgradeRequest.headers[canonicalForm: "Sec-WebSocket-Extensions"].map(String.init))
            : nil
        let endpoint = self.endpoint
        return channel.eventLoop.makeCompletedFuture {
            let id = endpoint.makeSocketID()
            var logger = endpoint.logger
            logger[metadataKey: "socket"] = "\(id)"
            try channel.pipeline.syncOperations.addHandler(
                ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: endpoint.configuration.maxMessageSize))
            )
            try channel.pipeline.syncOperations.addHandler(
                StreamConnectionHandler(socketID: id, endpoint: endpoint, deflate: deflate, logger: logger)
            )
            return .webSocket
        }
    }
}
