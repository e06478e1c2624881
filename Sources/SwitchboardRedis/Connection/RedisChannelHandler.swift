import Logging
import NIOCore

/// What goes down a Redis connection's pipeline.
enum RedisOutbound: Sendable {
    /// Encoded command bytes and the promise of its reply.
    case command(ByteBuffer, EventLoopPromise<RESPValue>)
    /// A subscribe-mode command: its confirmations come as pushes.
    case subscription(ByteBuffer)
}

/// Callbacks of a Redis connection (run on its event loop).
public struct RedisConnectionCallbacks: Sendable {
    /// A pub/sub push.
    public var onPush: @Sendable (RedisPush) -> Void
    /// The end of one read from the socket (a burst of pushes is over).
    public var onReadComplete: @Sendable () -> Void
    /// The connection closed, with the error that closed it, if any.
    public var onClose: @Sendable ((any Error)?) -> Void

    public init(
        onPush: @escaping @Sendable (RedisPush) -> Void = { _ in },
        onReadComplete: @escaping @Sendable () -> Void = {},
        onClose: @escaping @Sendable ((any Error)?) -> Void = { _ in }
    ) {
        self.onPush = onPush
        self.onReadComplete = onReadComplete
        self.onClose = onClose
    }
}

/// Parses replies with hiredis, matches them to pipelined commands, hands pushes to the
/// callbacks, and coalesces flushes: writes made during one event-loop tick go out in one flush.
final class RedisChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = RedisOutbound
    typealias OutboundOut = ByteBuffer

    private let reader: HiredisReader
    private var router = RedisReplyRouter<EventLoopPromise<RESPValue>>()
    private let callbacks: RedisConnectionCallbacks
    private let logger: Logger
    private var flushScheduled = false
    private var closeError: (any Error)?
    private var context: ChannelHandlerContext?

    init(callbacks: RedisConnectionCallbacks, keepReadBuffer: Bool, logger: Logger) {
        self.reader = HiredisReader(keepBuffer: keepReadBuffer)
        self.callbacks = callbacks
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .command(let bytes, let replyPromise):
            router.sentCommand(replyPromise)
            context.write(wrapOutboundOut(bytes), promise: promise)
        case .subscription(let bytes):
            router.sentSubscription()
            context.write(wrapOutboundOut(bytes), promise: promise)
        }
        scheduleFlush(context)
    }

    private func scheduleFlush(_ context: ChannelHandlerContext) {
        guard !flushScheduled else { return }
        flushScheduled = true
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let handler = loopBound.value
            handler.flushScheduled = false
            handler.context?.flush()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        do {
            try reader.feed(unwrapInboundIn(data))
            while let value = try reader.next() {
                switch router.received(value) {
                case .succeed(let promise, let value): promise.succeed(value)
                case .fail(let promise, let error): promise.fail(error)
                case .push(let push): callbacks.onPush(push)
                case .protocolViolation(let message):
                    logger.error("Redis protocol violation, closing the connection", metadata: ["detail": "\(message)"])
                    closeError = RedisError.protocolError(message)
                    context.close(promise: nil)
                    return
                }
            }
        } catch {
            logger.error("Redis protocol error, closing the connection", metadata: ["error": "\(error)"])
            closeError = RedisError.protocolError("\(error)")
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        callbacks.onReadComplete()
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        for promise in router.closed() { promise.fail(RedisError.connectionClosed) }
        callbacks.onClose(closeError)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if closeError == nil { closeError = error }
        context.close(promise: nil)
    }
}
