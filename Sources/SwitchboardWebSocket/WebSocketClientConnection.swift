import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket
import Synchronization

/// Why a client connection could not be opened.
package enum WebSocketConnectError: Error, CustomStringConvertible {
    /// The server answered the upgrade with another status: the URL, the status, and the body
    /// (the node's JSON says why: no such path, a token required, a foreign origin…).
    case upgradeRefused(url: String, status: Int, body: String)

    package var description: String {
        switch self {
        case .upgradeRefused(let url, let status, let body):
            "no WebSocket at \(url): HTTP \(status)" + (body.isEmpty ? "" : " \(body)")
        }
    }
}

/// Callbacks of a client connection; they run on the connection's event loop.
package struct WebSocketClientCallbacks: Sendable {
    /// A complete text message, and whether it came compressed.
    package var onText: @Sendable (ByteBuffer, Bool) -> Void
    /// A pong (answer to a ping this side sent).
    package var onPong: @Sendable (ByteBuffer) -> Void
    /// The connection ended: the close code the server sent (if any) and its reason.
    package var onClose: @Sendable (UInt16?, String) -> Void
    /// The end of one read from the socket (the messages of a burst were all handed over).
    package var onReadComplete: @Sendable () -> Void

    package init(
        onText: @escaping @Sendable (ByteBuffer, Bool) -> Void,
        onPong: @escaping @Sendable (ByteBuffer) -> Void = { _ in },
        onClose: @escaping @Sendable (UInt16?, String) -> Void,
        onReadComplete: @escaping @Sendable () -> Void = {}
    ) {
        self.onText = onText
        self.onPong = onPong
        self.onClose = onClose
        self.onReadComplete = onReadComplete
    }
}

/// A plain NIO WebSocket client connection (no task per connection, so a benchmark can hold
/// thousands): handshake, message reassembly, per-message deflate (inflate only), pings, close.
package enum WebSocketClientConnection {
    /// Connects and upgrades; the returned channel takes encoded frames (see `send`).
    package static func connect(
        to url: WebSocketURL,
        eventLoopGroup: any EventLoopGroup,
        compression: Bool = false,
        maxMessageSize: Int = 64 * 1024 * 1024,
        connectTimeout: TimeAmount = .seconds(10),
        headers extraHeaders: [(String, String)] = [],
        tls: TLSConfiguration? = nil,
        callbacks: WebSocketClientCallbacks
    ) async throws -> any Channel {
        let sslContext = url.secure ? try NIOSSLContext(configuration: tls ?? .makeClientConfiguration()) : nil
        let refusal = RefusalReader()
        defer { refusal.complete() }
        let upgraded = try await ClientBootstrap(group: eventLoopGroup)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: url.host, port: url.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        let serverName = url.host.contains(":") || url.host.allSatisfy({ $0.isNumber || $0 == "." }) ? nil : url.host
                        try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: sslContext, serverHostname: serverName))
                    }
                    let upgrader = NIOTypedWebSocketClientUpgrader<Bool>(
                        maxFrameSize: min(maxMessageSize, Int(UInt32.max)),
                        enableAutomaticErrorHandling: false,
                        upgradePipelineHandler: { channel, response in
                            channel.eventLoop.makeCompletedFuture {
                                let inflate = compression && PerMessageDeflate.serverAccepted(response.headers["Sec-WebSocket-Extensions"])
                                let handler = WebSocketClientHandler(inflate: inflate, maxMessageSize: maxMessageSize, callbacks: callbacks)
                                // In front of NIO's frame decoder: the bytes (also those the upgrade
                                // held back, sent right after the 101) come to this handler, which
                                // reads the frames itself; the decoder, idle, goes.
                                let pipeline = channel.pipeline.syncOperations
                                let decoder = try pipeline.handler(type: ByteToMessageHandler<WebSocketFrameDecoder>.self)
                                try pipeline.addHandler(handler, position: .before(decoder))
                                pipeline.removeHandler(decoder, promise: nil)
                                return true
                            }
                        }
                    )
                    var headers = HTTPHeaders()
                    headers.add(name: "Host", value: url.hostHeader)
                    headers.add(name: "Content-Length", value: "0")
                    if compression { headers.add(name: "Sec-WebSocket-Extensions", value: PerMessageDeflate.clientOffer) }
                    for (name, value) in extraHeaders { headers.add(name: name, value: value) }
                    let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: url.target, headers: headers)
                    let configuration = NIOTypedHTTPClientUpgradeConfiguration<Bool>(
                        upgradeRequestHead: head,
                        upgraders: [upgrader],
                        notUpgradingCompletionHandler: { channel in
                            // Keep the answer: its status and body say why.
                            channel.eventLoop.makeCompletedFuture {
                                try channel.pipeline.syncOperations.addHandler(refusal)
                                return false
                            }
                        }
                    )
                    var pipeline = NIOUpgradableHTTPClientPipelineConfiguration(upgradeConfiguration: configuration)
                    // Frames the server sends right after its 101 (wsrpc's first ping, say) may come
                    // in the same read as the response: hand them on, do not drop them.
                    pipeline.leftOverBytesStrategy = .forwardBytes
                    let result = try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(configuration: pipeline)
                    return (channel, result)
                }
            }
        guard try await upgraded.1.get() else {
            let channel = upgraded.0
            let deadline = channel.eventLoop.scheduleTask(in: .seconds(3)) { channel.close(promise: nil) }
            let (status, body) = try await refusal.answer.get()
            deadline.cancel()
            channel.close(promise: nil)
            throw WebSocketConnectError.upgradeRefused(url: url.description, status: status, body: body)
        }
        return upgraded.0
    }

    /// Writes one text message (masked, as a client must); `flush: false` lets a caller batch.
    /// A payload with `WebSocketFrameWriter.clientHeadroom` bytes in front is framed in place.
    package static func send(text: ByteBuffer, on channel: any Channel, flush: Bool = true) -> EventLoopFuture<Void> {
        let promise = channel.eventLoop.makePromise(of: Void.self)
        send(text: text, on: channel, flush: flush, promise: promise)
        return promise.futureResult
    }

    /// Writes one text message, completing `promise` (if any) when it is written.
    package static func send(text: ByteBuffer, on channel: any Channel, flush: Bool = true, promise: EventLoopPromise<Void>?) {
        let frame = WebSocketFrameWriter.clientFrame(text, opcode: .text)
        if flush { channel.writeAndFlush(frame, promise: promise) } else { channel.write(frame, promise: promise) }
    }

    /// Writes any frame as given: its mask key, reserved bits and opcode (tests use this for
    /// binary, fragmented, control or unmasked frames).
    package static func send(_ frame: WebSocketFrame, on channel: any Channel, flush: Bool = true) -> EventLoopFuture<Void> {
        let bytes = encoded(frame)
        return flush ? channel.writeAndFlush(bytes) : channel.write(bytes)
    }

    /// A frame's bytes on the wire.
    static func encoded(_ frame: WebSocketFrame) -> ByteBuffer {
        let first = (frame.fin ? 0x80 : 0) | (frame.rsv1 ? 0x40 : 0) | (frame.rsv2 ? 0x20 : 0) | (frame.rsv3 ? 0x10 : 0) | UInt8(webSocketOpcode: frame.opcode)
        let key = frame.maskKey.map { key in key.reduce(UInt32(0)) { $0 << 8 | UInt32($1) } }
        var payload = frame.extensionData ?? ByteBuffer()
        payload.writeImmutableBuffer(frame.data)
        return WebSocketFrameWriter.frame(payload, first: first, maskKey: key)
    }

    /// Sends a close frame with `code` and closes after the server answers (or a short wait).
    package static func close(_ channel: any Channel, code: UInt16 = 1000) -> EventLoopFuture<Void> {
        var data = WebSocketFrameWriter.makePayloadBuffer(allocator: channel.allocator, capacity: 2)
        data.writeInteger(code)
        channel.writeAndFlush(WebSocketFrameWriter.clientFrame(data, opcode: .close), promise: nil)
        let timeout = channel.eventLoop.scheduleTask(in: .seconds(3)) { channel.close(promise: nil) }
        return channel.closeFuture.always { _ in timeout.cancel() }
    }
}

/// Reads the answer to a refused upgrade: its status and body.
final class RefusalReader: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart

    private let promise: EventLoopPromise<(Int, String)>
    private let state = Mutex<(status: Int, body: String, done: Bool)>((0, "", false))

    init() {
        promise = MultiThreadedEventLoopGroup.singleton.any().makePromise()
    }

    /// The status and body, once the answer ended (or the connection did).
    var answer: EventLoopFuture<(Int, String)> { promise.futureResult }

    /// Gives the answer as it is so far (once; later calls do nothing).
    func complete() {
        let answer: (Int, String)? = state.withLock { state -> (Int, String)? in
            guard !state.done else { return nil }
            state.done = true
            return (state.status, state.body)
        }
        if let answer { promise.succeed(answer) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): state.withLock { $0.status = Int(head.status.code) }
        case .body(let part): state.withLock { if $0.body.utf8.count < 4096 { $0.body += String(buffer: part) } }
        case .end: complete()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        complete()
        context.fireChannelInactive()
    }
}
