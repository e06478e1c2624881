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
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum State {
        case open
        case closing
        case closed
    }

    struct Fragments {
        var opcode: WebSocketOpcode
        var compressed: Bool
        var data: ByteBuffer
    }

    let socketID: SocketID
    let endpoint: RPCEndpoint
    /// The endpoint's channel-message format, read once (it is on the delivery path).
    let messageFormat: ChannelMessageFormat
    let deflate: PerMessageDeflate?
    var logger: Logger

    @exclusivity(unchecked) var context: ChannelHandlerContext?
    @exclusivity(unchecked) var session: RPCSession?
    var keeper: ConnectionKeeper?
    var flusher: FlushScheduler?
    @exclusivity(unchecked) var flushQueued = false
    @exclusivity(unchecked) var state = State.open
    @exclusivity(unchecked) var fragments: Fragments?
    /// The frames of the socket's bytes, read in place.
    @exclusivity(unchecked) var frames: WebSocketFrameReader

    @exclusivity(unchecked) var outbound: OutboundQueue
    /// History channels being recovered, and their live messages meanwhile.
    var recovery = RecoveryHold()
    @exclusivity(unchecked) var needsFlush = false
    /// The channel's writability as its last `channelWritabilityChanged` said (NIO announces
    /// every change, on the loop, as it happens): read per written frame without going through
    /// the channel.
    @exclusivity(unchecked) var channelWritable = true
    /// The frames written since the last flush, joined (see `join`).
    @exclusivity(unchecked) var joined = JoinedWrites()

    @exclusivity(unchecked) var readPending = false
    @exclusivity(unchecked) var readingPaused = false
    @exclusivity(unchecked) var pings = Keepalive()
    var closeTimer: Scheduled<Void>?
    var registered = true

    /// Who connected (from the token of the upgrade request).
    let identity: Identity
    /// The client's IP address (for the per-address connection count).
    let address: String

    /// The upgrade headers the application's backend gets with each proxied request.
    let forwardedHeaders: [HTTPHeaderField]
    /// What the connect proxy granted: channels to subscribe at once, data for the client.
    let grant: ProxyAnswer.Grant?

    init(
        socketID: SocketID, endpoint: RPCEndpoint, deflate: PerMessageDeflate?, identity: Identity, address: String, logger: Logger,
        forwardedHeaders: [HTTPHeaderField] = [], grant: ProxyAnswer.Grant? = nil
    ) {
        self.forwardedHeaders = forwardedHeaders
        self.grant = grant
        self.socketID = socketID
        self.endpoint = endpoint
        self.identity = identity
        self.address = address
        self.messageFormat = endpoint.codec.messageFormat
        self.deflate = deflate
        self.logger = logger
        self.outbound = OutboundQueue(limit: endpoint.configuration.maxOutboundBytes)
        self.frames = WebSocketFrameReader(maxFrameSize: endpoint.configuration.maxMessageSize)
    }

    var compressesOutgoing: Bool { deflate?.compressesOutgoing ?? false }

    // MARK: - Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        channelWritable = context.channel.isWritable
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
        session?.forwardedHeaders = forwardedHeaders
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
        if let grant, !grant.channels.isEmpty || grant.data != nil {
            applyGrant(grant, eventLoop: context.eventLoop)
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
    func tearDown(reason: String) {
        guard state != .closed || session != nil else { return }
        state = .closed
        closeTimer?.cancel()
        closeTimer = nil
        session?.close()
        session = nil
        keeper?.remove(self)
        keeper = nil
        outbound.removeAll()
        fragments = nil
        unregister()
        endpoint.connections.closed(from: address)
        logger.info("connection closed")
        context = nil
    }

    /// Leaves the node's registries (every channel at once), once: when closing starts, so a
    /// closing socket gets no more messages and no longer counts.
    func unregister() {
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
        // Frame errors are the reader's (channelRead); what comes here is the connection's.
        logger.debug("connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
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
    func updateReading() {
        guard let context else { return }
        let pause = !(session?.hasCapacity ?? true) || !channelWritable
        readingPaused = pause
        if !pause, readPending {
            readPending = false
            context.read()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        frames.append(unwrapInboundIn(data))
        while state != .closed {
            let frame: WebSocketFrameReader.Frame?
            do {
                frame = try frames.next()
            } catch .tooBig {
                frames.stop()
                logger.info("message too big", metadata: ["limit": "\(endpoint.configuration.maxMessageSize)"])
                return initiateClose(code: 1009, reason: "message too big", keepQueued: false)
            } catch {
                frames.stop()
                return protocolError("invalid frame length")
            }
            guard let frame else { return }
            handleFrame(frame, context: context)
        }
    }

    /// One frame, checked as RFC 6455 asks.
    func handleFrame(_ frame: WebSocketFrameReader.Frame, context: ChannelHandlerContext) {
        pings.heardFromClient()
        guard state == .open else {
            if state == .closing, frame.opcode == .connectionClose { context.close(promise: nil) }
            return
        }
        guard frame.masked, !frame.rsv2, !frame.rsv3 else {
            return protocolError("unmasked frame or reserved bits set")
        }
        if frame.opcode == .ping || frame.opcode == .pong || frame.opcode == .connectionClose {
            // RFC 6455 §5.5: control frames are whole, short, and never compressed.
            guard frame.fin, !frame.rsv1, frame.payload.readableBytes <= 125 else {
                return protocolError("fragmented, compressed or long control frame")
            }
        }
        switch frame.opcode {
        case .text, .binary:
            guard fragments == nil else { return protocolError("new message inside a fragmented one") }
            let compressed = frame.rsv1
            guard !compressed || deflate != nil else { return protocolError("compressed frame without negotiation") }
            if frame.fin {
                handleMessage(opcode: frame.opcode, data: frame.payload, compressed: compressed)
            } else {
                fragments = Fragments(opcode: frame.opcode, compressed: compressed, data: frame.payload)
            }
        case .continuation:
            guard var pending = fragments, !frame.rsv1 else { return protocolError("unexpected continuation frame") }
            var data = frame.payload
            guard pending.data.readableBytes + data.readableBytes <= endpoint.configuration.maxMessageSize else {
                fragments = nil
                return initiateClose(code: 1009, reason: "message too big", keepQueued: false)
            }
            fragments = nil  // drop the reference before appending, so the buffer is not copied
            pending.data.writeBuffer(&data)
            if frame.fin {
                handleMessage(opcode: pending.opcode, data: pending.data, compressed: pending.compressed)
            } else {
                fragments = pending
            }
        case .ping:
            writeOutbound(WebSocketFrameWriter.frame(copyWithHeadroom(frame.payload), opcode: .pong))
            needsFlush = true
        case .pong:
            break
        case .connectionClose:
            answerClose(frame.payload)
        default:
            protocolError("unknown opcode")
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushSoon()
        updateReading()
        context.fireChannelReadComplete()
    }

    func handleMessage(opcode: WebSocketOpcode, data: ByteBuffer, compressed: Bool) {
        var message = data
        if compressed {
            guard let codecs = endpoint.codecs else { return protocolError("compressed frame without negotiation") }
            do {
                message = try codecs.withInflater { inflater in
                    try inflater.decompress(data, maxSize: endpoint.configuration.maxMessageSize, allocator: ByteBufferAllocator())
                }
            } catch MessageInflater.Failure.tooLarge {
                return initiateClose(code: 1009, reason: "message too big", keepQueued: false)
            } catch {
                return initiateClose(code: 1007, reason: "invalid compressed data", keepQueued: false)
            }
        }
        if opcode == .text {
            // RFC 6455 §8.1: text that is not UTF-8 fails the connection (1007).
            guard UTF8Validation.isValid(message) else {
                logger.info("text message that is not UTF-8: closing")
                return initiateClose(code: 1007, reason: "invalid UTF-8", keepQueued: false)
            }
            session?.receive(text: message)
        } else {
            session?.receiveBinary()
        }
    }

    func protocolError(_ what: String) {
        logger.info("protocol error", metadata: ["error": "\(what)"])
        initiateClose(code: 1002, reason: "protocol error", keepQueued: false)
    }

    // MARK: - Writing

    /// Writes one RPC reply (JSON text with frame headroom), compressed when negotiated.
    func sendReply(_ json: consuming ByteBuffer) {
        guard state == .open else { return }
        if compressesOutgoing, let codecs = endpoint.codecs, json.readableBytes >= codecs.minimumSize,
            let compressed = codecs.withDeflater({ $0.compress(json) })
        {
            writeOutbound(WebSocketFrameWriter.frame(compressed, opcode: .text, compressed: true))
        } else {
            writeOutbound(WebSocketFrameWriter.frame(json, opcode: .text))
        }
    }

    /// Flushes at the end of this unit of work (a read from Redis) or else of this event-loop
    /// tick, with the other sockets of the loop, so that a burst of replies and messages is one
    /// write (`FlushScheduler`).
    func flushSoon() {
        guard needsFlush, !flushQueued else { return }
        flusher?.schedule(self)
    }

    func flushNow() {
        flushIfNeeded()
    }

    /// Queues a delivered message (called on the loop by `WebSocketHandle`); it goes out with
    /// the socket's next flush (`flushSoon()`).
    func deliver(_ message: OutboundMessage) {
        if !recovery.isIdle {
            switch recovery.admit(message) {
            case .deliver: break
            case .held, .duplicate: return
            case .overflow:
                // A recovery that cannot keep up with the channel: the socket is closed like any
                // slow consumer rather than buffering without bound.
                return slowConsumer()
            }
        }
        write(message)
    }

    func write(_ message: OutboundMessage) {
        guard state == .open, let frame = message.frame(for: messageFormat, deflated: compressesOutgoing) else { return }
        writeOutbound(frame)
        flushSoon()
    }

    /// Holds back `channel`'s live messages until `release`.
    func hold(channel: String) {
        recovery.hold(channel: channel)
    }

    /// Sends the held messages after `offset`, drops the rest, and stops holding `channel`.
    func release(channel: String, after offset: StreamOffset?) {
        for message in recovery.release(channel: channel, after: offset) { write(message) }
    }

    func copyWithHeadroom(_ data: ByteBuffer) -> ByteBuffer {
        var buffer = WebSocketFrameWriter.makePayloadBuffer(capacity: data.readableBytes)
        var data = data
        buffer.writeBuffer(&data)
        return buffer
    }
}
