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
    /// Connects and upgrades; the returned channel takes `WebSocketFrame` writes (see `send`).
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
                        upgradePipelineHandler: { channel, response in
                            channel.eventLoop.makeCompletedFuture {
                                let inflate = compression && PerMessageDeflate.serverAccepted(response.headers["Sec-WebSocket-Extensions"])
                                let handler = WebSocketClientHandler(inflate: inflate, maxMessageSize: maxMessageSize, callbacks: callbacks)
                                try channel.pipeline.syncOperations.addHandler(handler)
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
    package static func send(text: ByteBuffer, on channel: any Channel, flush: Bool = true) -> EventLoopFuture<Void> {
        send(WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: text), on: channel, flush: flush)
    }

    /// Writes any frame (tests use this for binary, fragmented or control frames).
    package static func send(_ frame: WebSocketFrame, on channel: any Channel, flush: Bool = true) -> EventLoopFuture<Void> {
        flush ? channel.writeAndFlush(frame) : channel.write(frame)
    }

    /// Sends a close frame with `code` and closes after the server answers (or a short wait).
    package static func close(_ channel: any Channel, code: UInt16 = 1000) -> EventLoopFuture<Void> {
        var data = channel.allocator.buffer(capacity: 2)
        data.writeInteger(code)
        let frame = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: data)
        channel.writeAndFlush(frame, promise: nil)
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

/// Reassembles messages, inflates them when negotiated, and answers pings and close frames.
final class WebSocketClientHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let inflate: Bool
    private let maxMessageSize: Int
    private let callbacks: WebSocketClientCallbacks
    private var inflater: MessageInflater?
    private var fragments: (opcode: WebSocketOpcode, compressed: Bool, data: ByteBuffer)?
    private var closeCode: UInt16?
    private var closeReason = ""
    private var reported = false

    init(inflate: Bool, maxMessageSize: Int, callbacks: WebSocketClientCallbacks) {
        self.inflate = inflate
        self.maxMessageSize = maxMessageSize
        self.callbacks = callbacks
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text, .binary:
            if frame.fin {
                message(context: context, opcode: frame.opcode, data: frame.unmaskedData, compressed: frame.rsv1)
            } else {
                fragments = (frame.opcode, frame.rsv1, frame.unmaskedData)
            }
        case .continuation:
            guard var pending = fragments else { return fail(context, code: 1002) }
            fragments = nil
            var data = frame.unmaskedData
            pending.data.writeBuffer(&data)
            guard pending.data.readableBytes <= maxMessageSize else { return fail(context, code: 1009) }
            if frame.fin {
                message(context: context, opcode: pending.opcode, data: pending.data, compressed: pending.compressed)
            } else {
                fragments = pending
            }
        case .ping:
            let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.unmaskedData)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .pong:
            callbacks.onPong(frame.unmaskedData)
        case .connectionClose:
            var payload = frame.unmaskedData
            closeCode = payload.readInteger(as: UInt16.self)
            closeReason = payload.readString(length: payload.readableBytes) ?? ""
            var data = context.channel.allocator.buffer(capacity: 2)
            data.writeInteger(closeCode ?? 1000)
            let reply = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: data)
            let loopBound = context.loopBound
            context.writeAndFlush(wrapOutboundOut(reply)).whenComplete { _ in loopBound.value.close(promise: nil) }
        default:
            break
        }
    }

    private func message(context: ChannelHandlerContext, opcode: WebSocketOpcode, data: ByteBuffer, compressed: Bool) {
        var text = data
        if compressed {
            guard inflate else { return fail(context, code: 1002) }
            if inflater == nil { inflater = MessageInflater() }
            do {
                text = try inflater!.decompress(data, maxSize: maxMessageSize, allocator: context.channel.allocator)
            } catch {
                return fail(context, code: 1007)
            }
        }
        if opcode == .text { callbacks.onText(text, compressed) }
    }

    private func fail(_ context: ChannelHandlerContext, code: UInt16) {
        closeCode = code
        context.close(promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        callbacks.onReadComplete()
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !reported {
            reported = true
            callbacks.onClose(closeCode, closeReason)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
