import CoreMetrics
import Foundation
import Logging
import NIOCore
import NIOWebSocket
import Switchboard
import SwitchboardWebSocket

/// One WebSocket RPC socket after the upgrade, whatever its protocol (`/stream`, `/jsonrpc`,
/// `/wsrpc`): reassembles and inflates messages, answers pings and close frames, feeds text to the
/// socket's `RPCSession` (which reads it with the endpoint's codec), and writes replies and
/// delivered messages as pre-encoded frames through one bounded outbound queue.
///
/// Everything here runs on the socket's event loop. There is no task or timer per socket: RPC
/// methods run as futures, the keepalive pass is one timer per loop (`ConnectionKeeper`), and
/// delivered messages arrive already encoded (`OutboundMessage`).
final class WebSocketConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler, KeepaliveTarget, FlushTarget {
    typealias InboundIn = WebSocketFrame
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State {
        case open
        case closing
        case closed
    }

    private struct Fragments {
        var opcode: WebSocketOpcode
        var compressed: Bool
        var data: ByteBuffer
    }

    let socketID: SocketID
    private let endpoint: RPCEndpoint
    /// The endpoint's channel-message format, read once (it is on the delivery path).
    private let messageFormat: ChannelMessageFormat
    private let deflate: PerMessageDeflate?
    private var logger: Logger

    @exclusivity(unchecked) private var context: ChannelHandlerContext?
    @exclusivity(unchecked) private var session: RPCSession?
    private var keeper: ConnectionKeeper?
    private var flusher: FlushScheduler?
    @exclusivity(unchecked) var flushQueued = false
    @exclusivity(unchecked) private var state = State.open
    @exclusivity(unchecked) private var fragments: Fragments?

    @exclusivity(unchecked) private var outbound = CircularBuffer<ByteBuffer>()
    @exclusivity(unchecked) private var outboundBytes = 0
    @exclusivity(unchecked) private var needsFlush = false

    @exclusivity(unchecked) private var readPending = false
    @exclusivity(unchecked) private var readingPaused = false
    @exclusivity(unchecked) private var sawInbound = false
    @exclusivity(unchecked) private var awaitingPong = false
    private var closeTimer: Scheduled<Void>?
    private var registered = true

    /// Who connected (from the token of the upgrade request).
    private let identity: Identity
    /// The client's IP address (for the per-address connection count).
    private let address: String

    init(socketID: SocketID, endpoint: RPCEndpoint, deflate: PerMessageDeflate?, identity: Identity, address: String, logger: Logger) {
        self.socketID = socketID
        self.endpoint = endpoint
        self.identity = identity
        self.address = address
        self.messageFormat = endpoint.codec.messageFormat
        self.deflate = deflate
        self.logger = logger
    }

    private var compressesOutgoing: Bool { deflate?.compressesOutgoing ?? false }

    // MARK: - Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        session = RPCSession(
            codec: endpoint.codec,
            router: endpoint.router,
            hub: endpoint.hub,
            socketID: socketID,
            socketName: endpoint.node.clusterName(of: socketID),
            identity: identity,
            access: endpoint.node.security.policy,
            eventLoop: context.eventLoop,
            logger: logger,
            configuration: .init(
                maxPendingRequests: endpoint.configuration.maxPendingRequests,
                requestsPerSecond: endpoint.node.security.requestsPerSecond,
                maxBatchSize: endpoint.node.security.maxBatchSize,
                maxReplyBytes: max(endpoint.configuration.maxMessageSize, endpoint.configuration.maxOutboundBytes) + 64 * 1024
            ),
            metrics: endpoint.metrics,
            makeBuffer: { WebSocketFrameWriter.makePayloadBuffer() },
            send: { reply in loopBound.value.sendReply(reply) },
            flush: { loopBound.value.flushSoon() }
        )
        session?.onCapacityAvailable = { loopBound.value.updateReading() }
        session?.onAbuse = { reason in loopBound.value.initiateClose(code: 1008, reason: reason, keepQueued: false) }
        let socket = WebSocketHandle(
            id: socketID,
            eventLoop: context.eventLoop,
            acceptsDeflatedFrames: compressesOutgoing,
            messageFormat: messageFormat,
            rpc: session?.socket,
            handler: self
        )
        endpoint.hub.connect(socket)  // counted in `connections` since its upgrade was accepted
        endpoint.metrics.connections.increment()
        endpoint.metrics.connectionsOpened.increment()
        let services = endpoint.loops.services(for: context.eventLoop)
        keeper = services.keeper
        flusher = services.flusher
        keeper?.add(self)
        if keeper != nil, let method = endpoint.codec.keepaliveMethod {
            // wsrpc: the node calls the client's ping right after the upgrade (once the upgrader
            // has finished with the pipeline: on the next tick), then every pass.
            context.eventLoop.execute {
                guard loopBound.value.state == .open else { return }
                _ = loopBound.value.session?.keepalive(method: method, timeout: loopBound.value.keepaliveTimeout)
            }
        }
        logger.info(
            "connection opened",
            metadata: [
                "remote": "\(context.channel.remoteAddress?.description ?? "?")",
                "compression": "\(deflate != nil)",
                "protocol": "\(endpoint.codec.name)",
            ]
        )
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        tearDown(reason: "handler removed")
    }

    func channelInactive(context: ChannelHandlerContext) {
        tearDown(reason: "connection closed")
        context.fireChannelInactive()
    }

    /// Forgets the socket everywhere, once.
    private func tearDown(reason: String) {
        guard state != .closed || session != nil else { return }
        state = .closed
        closeTimer?.cancel()
        closeTimer = nil
        session?.close()
        session = nil
        keeper?.remove(self)
        keeper = nil
        outbound.removeAll()
        outboundBytes = 0
        fragments = nil
        unregister()
        endpoint.connections.closed(from: address)
        logger.info("connection closed")
        context = nil
    }

    /// Leaves the node's registries (every channel at once), once: when closing starts, so a
    /// closing socket gets no more messages and no longer counts.
    private func unregister() {
        guard registered else { return }
        registered = false
        endpoint.hub.disconnect(socketID)
        endpoint.metrics.connections.decrement()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is ChannelShouldQuiesceEvent:
            initiateClose(code: 1001, reason: "going away", keepQueued: true)
        case let event as ChannelEvent where event == .inputClosed:
            // The client half-closed without a close frame: nothing more will come.
            context.close(promise: nil)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch error {
        case NIOWebSocketError.invalidFrameLength:
            logger.info("message too big", metadata: ["limit": "\(endpoint.configuration.maxMessageSize)"])
            initiateClose(code: 1009, reason: "message too big", keepQueued: false)
        case let error as NIOWebSocketError:
            logger.info("protocol error", metadata: ["error": "\(error)"])
            initiateClose(code: 1002, reason: "protocol error", keepQueued: false)
        default:
            logger.debug("connection error", metadata: ["error": "\(error)"])
            context.close(promise: nil)
        }
    }

    // MARK: - Reading

    func read(context: ChannelHandlerContext) {
        if readingPaused {
            readPending = true
        } else {
            context.read()
        }
    }

    /// Stops reading while the RPC session is full or the socket is not writable (a client that
    /// sends requests and reads no replies is slowed down, not dropped); resumes after.
    private func updateReading() {
        guard let context else { return }
        let pause = !(session?.hasCapacity ?? true) || !context.channel.isWritable
        readingPaused = pause
        if !pause, readPending {
            readPending = false
            context.read()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        sawInbound = true
        awaitingPong = false
        guard state == .open else {
            if state == .closing, frame.opcode == .connectionClose { context.close(promise: nil) }
            return
        }
        guard frame.maskKey != nil, !frame.rsv2, !frame.rsv3 else {
            return protocolError("unmasked frame or reserved bits set")
        }
        if frame.opcode == .ping || frame.opcode == .pong || frame.opcode == .connectionClose {
            // RFC 6455 §5.5: control frames are whole, short, and never compressed.
            guard frame.fin, !frame.rsv1, frame.length <= 125 else {
                return protocolError("fragmented, compressed or long control frame")
            }
        }
        switch frame.opcode {
        case .text, .binary:
            guard fragments == nil else { return protocolError("new message inside a fragmented one") }
            let compressed = frame.rsv1
            guard !compressed || deflate != nil else { return protocolError("compressed frame without negotiation") }
            if frame.fin {
                handleMessage(opcode: frame.opcode, data: frame.unmaskedData, compressed: compressed, allocator: context.channel.allocator)
            } else {
                fragments = Fragments(opcode: frame.opcode, compressed: compressed, data: frame.unmaskedData)
            }
        case .continuation:
            guard var pending = fragments, !frame.rsv1 else { return protocolError("unexpected continuation frame") }
            var data = frame.unmaskedData
            guard pending.data.readableBytes + data.readableBytes <= endpoint.configuration.maxMessageSize else {
                fragments = nil
                return initiateClose(code: 1009, reason: "message too big", keepQueued: false)
            }
            fragments = nil  // drop the reference before appending, so the buffer is not copied
            pending.data.writeBuffer(&data)
            if frame.fin {
                handleMessage(opcode: pending.opcode, data: pending.data, compressed: pending.compressed, allocator: context.channel.allocator)
            } else {
                fragments = pending
            }
        case .ping:
            writeOutbound(WebSocketFrameWriter.frame(copyWithHeadroom(frame.unmaskedData), opcode: .pong))
            needsFlush = true
        case .pong:
            break
        case .connectionClose:
            answerClose(frame.unmaskedData)
        default:
            protocolError("unknown opcode")
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushSoon()
        updateReading()
        context.fireChannelReadComplete()
    }

    private func handleMessage(opcode: WebSocketOpcode, data: ByteBuffer, compressed: Bool, allocator: ByteBufferAllocator) {
        var message = data
        if compressed {
            guard let codecs = endpoint.codecs else { return protocolError("compressed frame without negotiation") }
            do {
                message = try codecs.withInflater { inflater in
                    try inflater.decompress(data, maxSize: endpoint.configuration.maxMessageSize, allocator: allocator)
                }
            } catch MessageInflater.Failure.tooLarge {
                return initiateClose(code: 1009, reason: "message too big", keepQueued: false)
            } catch {
                return initiateClose(code: 1007, reason: "invalid compressed data", keepQueued: false)
            }
        }
        if opcode == .text {
            // RFC 6455 §8.1: text that is not UTF-8 fails the connection (1007).
            guard message.readableBytesView.withContiguousStorageIfAvailable({ String(validating: $0, as: UTF8.self) != nil }) ?? (String(validating: message.readableBytesView, as: UTF8.self) != nil) else {
                logger.info("text message that is not UTF-8: closing")
                return initiateClose(code: 1007, reason: "invalid UTF-8", keepQueued: false)
            }
            session?.receive(text: message)
        } else {
            session?.receiveBinary()
        }
    }

    private func protocolError(_ what: String) {
        logger.info("protocol error", metadata: ["error": "\(what)"])
        initiateClose(code: 1002, reason: "protocol error", keepQueued: false)
    }

    // MARK: - Closing

    /// Answers a client's close frame with the same code and closes the connection.
    private func answerClose(_ payload: ByteBuffer) {
        guard let context else { return }
        var payload = payload
        var code: UInt16 = 1000
        if payload.readableBytes >= 2, let received = payload.readInteger(as: UInt16.self) {
            let valid = (1000...1003).contains(received) || (1007...1011).contains(received) || (3000...4999).contains(received)
            code = valid ? received : 1002
            // The reason must be UTF-8 (RFC 6455 §5.5.1).
            if String(validating: payload.readableBytesView, as: UTF8.self) == nil { code = 1007 }
        } else if payload.readableBytes == 1 {
            code = 1002
        }
        state = .closing
        session?.close()
        unregister()
        writeOutbound(WebSocketFrameWriter.closeFrame(code: code, reason: ""), force: true)
        flushIfNeeded()
        context.close(promise: nil)
    }

    /// Sends a close frame and waits (bounded) for the client's; `keepQueued` sends what is
    /// already queued first (a shutdown), otherwise the queue is dropped (an error).
    func initiateClose(code: UInt16, reason: String, keepQueued: Bool) {
        guard state == .open, let context else { return }
        state = .closing
        fragments = nil
        session?.close()
        unregister()
        if !keepQueued {
            outbound.removeAll()
            outboundBytes = 0
        }
        logger.debug("closing", metadata: ["code": "\(code)", "reason": "\(reason)"])
        writeOutbound(WebSocketFrameWriter.closeFrame(code: code, reason: reason), force: true)
        needsFlush = true
        flushIfNeeded()
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        closeTimer = context.eventLoop.scheduleTask(in: endpoint.configuration.closeTimeout) {
            loopBound.value.context?.close(promise: nil)
        }
    }

    // MARK: - Writing

    /// Writes one RPC reply (JSON text with frame headroom), compressed when negotiated.
    private func sendReply(_ json: ByteBuffer) {
        guard state == .open else { return }
        if compressesOutgoing, let codecs = endpoint.codecs, json.readableBytes >= codecs.minimumSize,
            let compressed = codecs.withDeflater({ $0.compress(json) })
        {
            writeOutbound(WebSocketFrameWriter.frame(compressed, opcode: .text, compressed: true))
        } else {
            writeOutbound(WebSocketFrameWriter.frame(json, opcode: .text))
        }
    }

    /// Flushes at the end of this event-loop tick, with the other sockets of the loop, so that a
    /// burst of replies and messages is one write.
    private func flushSoon() {
        guard needsFlush, !flushQueued else { return }
        flusher?.schedule(self)
    }

    func flushNow() {
        flushIfNeeded()
    }

    /// Queues a delivered message (called on the loop by `WebSocketHandle`); it goes out with
    /// the socket's flush at the end of this tick.
    func deliver(_ message: OutboundMessage) {
        if !held.isEmpty, let history = message.history, held[history.channel] != nil {
            held[history.channel]!.append(message)
            // A recovery that cannot keep up with the channel: the socket is closed like any
            // slow consumer rather than buffering without bound.
            if held[history.channel]!.count > Self.maxHeldMessages { slowConsumer() }
            return
        }
        if !recoveredThrough.isEmpty, let history = message.history, let mark = recoveredThrough[history.channel] {
            // A live message the recovery already sent (it was read from the stream before its
            // PUBLISH reached this node): dropped. The first one after the mark ends the check,
            // since a channel's messages arrive in order.
            if history.offset <= mark { return }
            recoveredThrough[history.channel] = nil
        }
        guard state == .open, let frame = message.frame(for: messageFormat, deflated: compressesOutgoing) else { return }
        writeOutbound(frame)
        flushSoon()
    }

    /// History channels being recovered for this socket, and their live messages meanwhile.
    private var held: [String: [OutboundMessage]] = [:]
    /// For a channel just recovered: the last offset sent. Live messages at or before it that
    /// arrive after the release (their PUBLISH was still on its way from Redis while the
    /// stream was read) are dropped.
    private var recoveredThrough: [String: StreamOffset] = [:]
    /// Most live messages held for one channel while its missed messages are read.
    static let maxHeldMessages = 100_000

    /// Holds back `channel`'s live messages until `release`.
    func hold(channel: String) {
        if held[channel] == nil { held[channel] = [] }
    }

    /// Sends the held messages after `offset`, drops the rest, and stops holding `channel`.
    func release(channel: String, after offset: StreamOffset?) {
        guard let messages = held.removeValue(forKey: channel) else { return }
        var mark = offset
        for message in messages {
            if let offset, let position = message.history?.offset, position <= offset { continue }
            deliver(message)
            if let position = message.history?.offset { mark = max(mark ?? position, position) }
        }
        if let mark { recoveredThrough[channel] = mark }
    }

    /// The channel's write buffer high-water mark (NIO's default): while the channel is writable
    /// it holds less than this.
    private static let channelHighWaterMark = 64 * 1024

    /// Writes a frame, or queues it while the socket is not writable. Every byte not yet taken
    /// by the kernel counts against the outbound limit — the queue here and what the channel
    /// still buffers, whichever path wrote it (replies, deliveries, calls) — and a frame that
    /// would pass it closes the socket as a slow consumer before it is written. One frame is
    /// always taken when nothing is waiting (a message may be larger than the limit). `force`
    /// bypasses the limit (control frames).
    private func writeOutbound(_ frame: ByteBuffer, force: Bool = false) {
        guard state != .closed, let context else { return }
        let writable = outbound.isEmpty && context.channel.isWritable
        // The common case needs no count: a writable channel buffers less than its high-water mark.
        if writable, frame.readableBytes <= endpoint.configuration.maxOutboundBytes - Self.channelHighWaterMark {
            context.write(wrapOutboundOut(frame), promise: nil)
            needsFlush = true
            return
        }
        if !force {
            let buffered = (try? context.channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0
            let pending = outboundBytes + buffered
            if pending > 0, pending + frame.readableBytes > endpoint.configuration.maxOutboundBytes {
                return slowConsumer(pending: pending)
            }
        }
        if writable {
            context.write(wrapOutboundOut(frame), promise: nil)
            needsFlush = true
            return
        }
        outbound.append(frame)
        outboundBytes += frame.readableBytes
    }

    private func slowConsumer(pending: Int? = nil) {
        endpoint.metrics.slowConsumerCloses.increment()
        logger.warning(
            "slow consumer: closing",
            metadata: ["pending_bytes": "\(pending ?? outboundBytes)", "limit": "\(endpoint.configuration.maxOutboundBytes)"]
        )
        initiateClose(code: 1008, reason: "slow consumer", keepQueued: false)
    }

    private func flushIfNeeded() {
        guard needsFlush, let context else { return }
        needsFlush = false
        context.flush()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            while context.channel.isWritable, let frame = outbound.popFirst() {
                outboundBytes -= frame.readableBytes
                context.write(wrapOutboundOut(frame), promise: nil)
                needsFlush = true
            }
            flushIfNeeded()
        }
        updateReading()
        context.fireChannelWritabilityChanged()
    }

    private func copyWithHeadroom(_ data: ByteBuffer) -> ByteBuffer {
        var buffer = WebSocketFrameWriter.makePayloadBuffer(capacity: data.readableBytes)
        var data = data
        buffer.writeBuffer(&data)
        return buffer
    }

    // MARK: - Keepalive

    /// How long a client has to answer a keepalive call: one keepalive interval.
    private var keepaliveTimeout: TimeAmount { endpoint.configuration.pingInterval ?? .seconds(30) }

    func keepaliveTick() {
        guard state == .open, let context else { return }
        if let session, !session.expiryPass(wallClock: Date().timeIntervalSince1970, grace: endpoint.configuration.refreshGrace) {
            logger.info("token expired and no new one came: closing")
            return initiateClose(code: 4001, reason: "token expired", keepQueued: false)
        }
        if let method = endpoint.codec.keepaliveMethod, let session {
            if !session.keepalive(method: method, timeout: keepaliveTimeout) {
                logger.info("no answer to the keepalive call: closing the connection", metadata: ["method": "\(method)"])
                initiateClose(code: 1000, reason: "no answer to \(method)", keepQueued: false)
            }
            return
        }
        if awaitingPong {
            logger.info("no answer to ping: dropping the connection")
            context.close(promise: nil)
            return
        }
        if sawInbound {
            sawInbound = false
            return
        }
        awaitingPong = true
        writeOutbound(WebSocketFrameWriter.frame(WebSocketFrameWriter.makePayloadBuffer(capacity: 0), opcode: .ping), force: true)
        flushIfNeeded()
    }
}

/// The `SocketHandle` the registries hold for a WebSocket RPC socket: it forwards to the handler
/// on the socket's loop. It holds the handler; the handler does not hold it, so nothing leaks
/// once the registries let go.
final class WebSocketHandle: SocketHandle, @unchecked Sendable {
    let id: SocketID
    let eventLoop: any EventLoop
    let acceptsDeflatedFrames: Bool
    let messageFormat: ChannelMessageFormat
    let rpc: RPCSocket?
    /// Only touched on `eventLoop`: the registry calls `enqueue` there (checked in debug builds;
    /// the per-delivery thread check of `NIOLoopBound` is measurable on the fan-out path).
    private let handler: WebSocketConnectionHandler

    init(
        id: SocketID,
        eventLoop: any EventLoop,
        acceptsDeflatedFrames: Bool,
        messageFormat: ChannelMessageFormat,
        rpc: RPCSocket?,
        handler: WebSocketConnectionHandler
    ) {
        self.id = id
        self.eventLoop = eventLoop
        self.acceptsDeflatedFrames = acceptsDeflatedFrames
        self.messageFormat = messageFormat
        self.rpc = rpc
        self.handler = handler
    }

    func enqueue(_ message: OutboundMessage) {
        assert(eventLoop.inEventLoop)
        handler.deliver(message)
    }

    func hold(channel: String) {
        assert(eventLoop.inEventLoop)
        handler.hold(channel: channel)
    }

    func release(channel: String, after offset: StreamOffset?) {
        assert(eventLoop.inEventLoop)
        handler.release(channel: channel, after: offset)
    }

    func close(code: UInt16, reason: String) {
        eventLoop.execute {
            self.handler.initiateClose(code: code, reason: reason, keepQueued: true)
        }
    }
}
