import NIOCore
import NIOWebSocket

/// The client side of an upgraded connection: reads the server's frames in place
/// (`WebSocketFrameReader`), reassembles and inflates messages, answers pings and close frames,
/// and writes frames that are already encoded (`WebSocketFrameWriter.frame(_:first:maskKey:)`).
///
/// NIO's upgrader puts its frame decoder and encoder in the pipeline. `connect` puts this handler
/// in front of the decoder, which then gets no bytes, and takes the decoder out; the encoder (which
/// cannot be removed) is stepped over: writes go on from the encoder's context, so each frame is
/// one buffer, masked in place.
final class WebSocketClientHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let inflate: Bool
    private let maxMessageSize: Int
    private let callbacks: WebSocketClientCallbacks
    private var frames: WebSocketFrameReader
    private var inflater: MessageInflater?
    private var fragments: (opcode: WebSocketOpcode, compressed: Bool, data: ByteBuffer)?
    private var closeCode: UInt16?
    private var closeReason = ""
    private var reported = false
    /// The context writes continue from: NIO's frame encoder's, so they skip it.
    private var writeContext: ChannelHandlerContext?

    init(inflate: Bool, maxMessageSize: Int, callbacks: WebSocketClientCallbacks) {
        self.inflate = inflate
        self.maxMessageSize = maxMessageSize
        self.callbacks = callbacks
        self.frames = WebSocketFrameReader(maxFrameSize: maxMessageSize)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        // Without NIO's encoder (a test's pipeline), writes go on from here.
        writeContext = try? context.pipeline.syncOperations.context(handlerType: WebSocketFrameEncoder.self)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        writeContext = nil
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        (writeContext ?? context).write(data, promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        frames.append(unwrapInboundIn(data))
        do {
            while let frame = try frames.next() {
                handle(frame, context: context)
            }
        } catch {
            fail(context, code: error == .tooBig ? 1009 : 1002)
        }
    }

    private func handle(_ frame: WebSocketFrameReader.Frame, context: ChannelHandlerContext) {
        // A server never masks, and sets no reserved bit but the compression one (RFC 6455 §5.1–2).
        guard !frame.masked, !frame.rsv2, !frame.rsv3 else { return fail(context, code: 1002) }
        if frame.opcode.isControlOpcode, !frame.fin || frame.payload.readableBytes > 125 || frame.rsv1 {
            return fail(context, code: 1002)
        }
        switch frame.opcode {
        case .text, .binary:
            guard fragments == nil else { return fail(context, code: 1002) }
            if frame.fin {
                message(context: context, opcode: frame.opcode, data: frame.payload, compressed: frame.rsv1)
            } else {
                fragments = (frame.opcode, frame.rsv1, frame.payload)
            }
        case .continuation:
            guard var pending = fragments, !frame.rsv1 else { return fail(context, code: 1002) }
            fragments = nil
            var data = frame.payload
            pending.data.writeBuffer(&data)
            guard pending.data.readableBytes <= maxMessageSize else { return fail(context, code: 1009) }
            if frame.fin {
                message(context: context, opcode: pending.opcode, data: pending.data, compressed: pending.compressed)
            } else {
                fragments = pending
            }
        case .ping:
            send(frame.payload, opcode: .pong, context: context)
            context.flush()
        case .pong:
            callbacks.onPong(frame.payload)
        case .connectionClose:
            var payload = frame.payload
            closeCode = payload.readInteger(as: UInt16.self)
            closeReason = payload.readString(length: payload.readableBytes) ?? ""
            var data = WebSocketFrameWriter.makePayloadBuffer(allocator: context.channel.allocator, capacity: 2)
            data.writeInteger(closeCode ?? 1000)
            let promise = context.eventLoop.makePromise(of: Void.self)
            let loopBound = context.loopBound
            promise.futureResult.whenComplete { _ in loopBound.value.close(promise: nil) }
            send(data, opcode: .close, context: context, promise: promise)
            context.flush()
        default:
            fail(context, code: 1002)
        }
    }

    private func send(_ payload: ByteBuffer, opcode: WebSocketFrameWriter.Opcode, context: ChannelHandlerContext, promise: EventLoopPromise<Void>? = nil) {
        let frame = WebSocketFrameWriter.clientFrame(payload, opcode: opcode)
        (writeContext ?? context).write(wrapOutboundOut(frame), promise: promise)
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
        frames.stop()
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
