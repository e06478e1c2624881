import Logging
import NIOCore
import Switchboard

/// Who waits for a reply: a promise, or a callback to run on a given event loop (callbacks for
/// one loop are run together, one task per loop per read, so a burst of replies costs one hop).
enum RedisReplyWaiter: Sendable {
    case promise(EventLoopPromise<RESPValue>)
    case callback(RedisCompletion)

    func complete(_ result: Result<RESPValue, RedisError>, batch: inout CrossLoopTasks, on currentLoop: any EventLoop) {
        switch self {
        case .promise(let promise):
            promise.completeWith(result.mapError { $0 as any Error })
        case .callback(let completion) where completion.eventLoop === currentLoop:
            // The usual case (one loop per node's publisher): run now, no task made.
            completion.handler(result)
        case .callback(let completion):
            let handler = completion.handler
            batch.add(on: completion.eventLoop, currentLoop: currentLoop) { handler(result) }
        }
    }
}

/// A reply callback and the event loop it must run on.
public struct RedisCompletion: Sendable {
    public let eventLoop: any EventLoop
    public let handler: @Sendable (Result<RESPValue, RedisError>) -> Void

    public init(on eventLoop: any EventLoop, _ handler: @escaping @Sendable (Result<RESPValue, RedisError>) -> Void) {
        self.eventLoop = eventLoop
        self.handler = handler
    }
}

/// Reply callbacks: run at once when they are for the current loop, else collected and sent
/// with one task per loop after the read.
struct CrossLoopTasks {
    private var tasks = EventLoopBatches<@Sendable () -> Void>()

    /// Runs `task` now if `loop` is the current one, else collects it.
    mutating func add(on loop: any EventLoop, currentLoop: any EventLoop, _ task: @escaping @Sendable () -> Void) {
        if loop === currentLoop {
            task()
        } else {
            tasks.add(task, on: loop)
        }
    }

    mutating func dispatch() {
        tasks.dispatch { $0() }
    }
}

/// What goes down a Redis connection's pipeline.
enum RedisOutbound: Sendable {
    /// Encoded commands (joined, in order) and who waits for each reply, in the same order.
    case commands([ByteBuffer], waiters: [RedisReplyWaiter])
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

/// Parses replies with hiredis, matches them to pipelined commands and hands pushes to the
/// callbacks. Reply callbacks for other event loops are run together after each read.
///
/// With a command timeout, a command whose reply has not come within it declares the
/// connection dead: it is closed, and every command still waiting fails with
/// `RedisError.timeout` (a Redis that hangs without closing the socket is found in bounded time).
final class RedisChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = RedisOutbound
    typealias OutboundOut = ByteBuffer

    /// A command waiting for its reply, and when it must have come.
    typealias Pending = (waiter: RedisReplyWaiter, deadline: NIODeadline)

    private let reader: HiredisReader
    @exclusivity(unchecked) private var router = RedisReplyRouter<Pending>()
    @exclusivity(unchecked) private var completions = CrossLoopTasks()
    @exclusivity(unchecked) private var active = true
    private let callbacks: RedisConnectionCallbacks
    private let logger: Logger
    private let commandTimeout: TimeAmount?
    private var closeError: (any Error)?
    private var watchdog: RepeatedTask?

    init(callbacks: RedisConnectionCallbacks, keepReadBuffer: Bool, commandTimeout: TimeAmount? = nil, logger: Logger) {
        self.reader = HiredisReader(keepBuffer: keepReadBuffer)
        self.callbacks = callbacks
        self.commandTimeout = commandTimeout
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        guard let commandTimeout else { return }
        // Checked a few times per timeout: a late reply is found within 1.25 × the timeout.
        let period = TimeAmount.nanoseconds(max(commandTimeout.nanoseconds / 4, 1_000_000))
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        watchdog = context.eventLoop.scheduleRepeatedTask(initialDelay: period, delay: period) { _ in
            let (handler, context) = loopBound.value
            handler.checkDeadline(context: context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        watchdog?.cancel()
        watchdog = nil
    }

    private func checkDeadline(context: ChannelHandlerContext) {
        guard active, let oldest = router.waiting.first, oldest.deadline < .now(), let commandTimeout else { return }
        logger.error(
            "Redis did not answer a command in time: closing the connection",
            metadata: ["timeout": "\(commandTimeout)", "waiting": "\(router.waiting.count)"]
        )
        if closeError == nil { closeError = RedisError.timeout }
        context.close(promise: nil)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .commands(let writes, let waiters):
            // The handler owns the waiters from here (the write promise succeeds either way).
            guard active else {
                for waiter in waiters { waiter.complete(.failure(.connectionClosed), batch: &completions, on: context.eventLoop) }
                completions.dispatch()
                promise?.succeed()
                return
            }
            let deadline: NIODeadline = commandTimeout.map { .now() + $0 } ?? .distantFuture
            for waiter in waiters { router.sentCommand((waiter, deadline)) }
            // Commands of one burst come joined (`RedisOutbox`): a write per joined buffer.
            for bytes in writes { context.write(wrapOutboundOut(bytes), promise: nil) }
            promise?.succeed()
        case .subscription(let bytes):
            router.sentSubscription()
            context.write(wrapOutboundOut(bytes), promise: promise)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // A unit of work: the sockets answered or delivered to are flushed when it ends.
        LoopWork.run { read(context: context, data: data) }
    }

    private func read(context: ChannelHandlerContext, data: NIOAny) {
        do {
            try reader.feed(unwrapInboundIn(data))
            while let reply = try reader.nextReply() {
                switch router.received(reply) {
                case .succeed(let pending, let value): pending.waiter.complete(.success(value), batch: &completions, on: context.eventLoop)
                case .fail(let pending, let error): pending.waiter.complete(.failure(error), batch: &completions, on: context.eventLoop)
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
        LoopWork.run {
            completions.dispatch()
            callbacks.onReadComplete()
        }
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        active = false
        watchdog?.cancel()
        watchdog = nil
        let failure: RedisError = (closeError as? RedisError) == .timeout ? .timeout : .connectionClosed
        for pending in router.closed() { pending.waiter.complete(.failure(failure), batch: &completions, on: context.eventLoop) }
        completions.dispatch()
        callbacks.onClose(closeError)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if closeError == nil { closeError = error }
        context.close(promise: nil)
    }
}
