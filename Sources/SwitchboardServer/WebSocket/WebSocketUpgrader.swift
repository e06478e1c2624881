import Logging
import NIOCore
import NIOHTTP1
import NIOWebSocket
import Switchboard
import SwitchboardWebSocket

/// Upgrades `GET` on a WebSocket RPC path (`/stream`, `/jsonrpc`, `/wsrpc`) to a WebSocket: NIO's
/// upgrader checks the handshake and builds the accept header; this type negotiates per-message
/// deflate and installs the frame decoder and a `WebSocketConnectionHandler` with the path's
/// endpoint (no `NIOAsyncChannel`, no task per socket).
final class WebSocketUpgrader: NIOTypedHTTPServerProtocolUpgrader, Sendable {
    typealias UpgradeResult = NodeChannelResult

    let supportedProtocol = "websocket"
    let requiredUpgradeHeaders: [String] = []

    private let endpoints: [String: RPCEndpoint]
    private let node: NodeSockets
    private let handshake: NIOTypedWebSocketServerUpgrader<NodeChannelResult>

    init(endpoints: [RPCEndpoint], node: NodeSockets) {
        self.endpoints = Dictionary(endpoints.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        self.node = node
        let compression = node.configuration.compression
        self.handshake = NIOTypedWebSocketServerUpgrader(
            maxFrameSize: node.configuration.maxMessageSize,
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

    /// The paths served.
    var paths: [String] { endpoints.keys.sorted() }

    func buildUpgradeResponse(channel: any Channel, upgradeRequest: HTTPRequestHead, initialResponseHeaders: HTTPHeaders) -> EventLoopFuture<HTTPHeaders> {
        guard endpoints[String(Self.path(of: upgradeRequest.uri))] != nil else {
            return channel.eventLoop.makeFailedFuture(NIOWebSocketUpgradeError.unsupportedWebSocketTarget)
        }
        return handshake.buildUpgradeResponse(channel: channel, upgradeRequest: upgradeRequest, initialResponseHeaders: initialResponseHeaders)
    }

    func upgrade(channel: any Channel, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<NodeChannelResult> {
        guard let endpoint = endpoints[String(Self.path(of: upgradeRequest.uri))] else {
            return channel.eventLoop.makeFailedFuture(NIOWebSocketUpgradeError.unsupportedWebSocketTarget)
        }
        let deflate: PerMessageDeflate? =
            endpoint.configuration.compression
            ? PerMessageDeflate.negotiate(offers: upgradeRequest.headers[canonicalForm: "Sec-WebSocket-Extensions"].map(String.init))
            : nil
        return channel.eventLoop.makeCompletedFuture {
            let id = endpoint.node.makeSocketID()
            var logger = endpoint.node.logger
            logger[metadataKey: "socket"] = "\(endpoint.node.clusterName(of: id))"
            try channel.pipeline.syncOperations.addHandler(
                ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: endpoint.configuration.maxMessageSize))
            )
            try channel.pipeline.syncOperations.addHandler(
                WebSocketConnectionHandler(socketID: id, endpoint: endpoint, deflate: deflate, logger: logger)
            )
            return .webSocket
        }
    }
}
