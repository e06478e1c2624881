public import Logging
public import NIOCore
public import NIOSSL
import NIOPosix
package import Switchboard
import Synchronization

/// One connection to Redis on SwiftNIO: commands are pipelined (any number in flight, writes of
/// one event-loop tick flushed together), replies parsed by hiredis. AUTH and SELECT from the URL
/// run on connect.
///
/// ```swift
/// let redis = try await RedisConnection.connect(to: RedisURL("redis://127.0.0.1:6379/0"), on: loop)
/// let reply = try await redis.send(["PUBLISH", "news", "hello"]).get()
/// ```
public final class RedisConnection: Sendable {
    /// The NIO channel.
    public let channel: any Channel
    /// The URL it was opened with.
    public let url: RedisURL
    /// Commands sent from any thread, waiting for the connection's loop (one hop and one write
    /// per burst).
    private let outbox = Mutex<(commands: RedisOutbox, scheduled: Bool)>((RedisOutbox(), false))

    private init(channel: any Channel, url: RedisURL) {
        self.channel = channel
        self.url = url
    }

    /// Connects, authenticates and selects the database.
    /// - Parameters:
    ///   - keepReadBuffer: keep hiredis's read buffer between replies (for a busy connection).
    ///   - commandTimeout: a command not answered within it closes the connection, failing every
    ///     waiting command with `RedisError.timeout`; `nil`: commands wait as long as the socket lives.
    public static func connect(
        to url: RedisURL,
        on eventLoop: any EventLoop,
        timeout: TimeAmount = .seconds(5),
        keepReadBuffer: Bool = false,
        commandTimeout: TimeAmount? = nil,
        tls: TLSConfiguration? = nil,
        callbacks: RedisConnectionCallbacks = RedisConnectionCallbacks(),
        logger: Logger = Logger(label: "switchboard.redis")
    ) async throws -> RedisConnection {
        let channel: any Channel
        let sslContext = url.tls ? try NIOSSLContext(configuration: tls ?? .makeClientConfiguration()) : nil
        do {
            channel = try await ClientBootstrap(group: eventLoop)
                .connectTimeout(timeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelOption(.socketOption(.so_keepalive), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let sslContext {
                            let name = url.host.allSatisfy({ $0.isNumber || $0 == "." || $0 == ":" }) ? nil : url.host
                            try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: sslContext, serverHostname: name))
                        }
                        try channel.pipeline.syncOperations.addHandler(
                            RedisChannelHandler(callbacks: callbacks, keepReadBuffer: keepReadBuffer, commandTimeout: commandTimeout, logger: logger)
                        )
                    }
                }
                .connect(host: url.host, port: url.port)
                .get()
        } catch let error as ChannelError where error == .connectTimeout(timeout) {
            throw RedisError.connectTimeout
        }
        let connection = RedisConnection(channel: channel, url: url)
        do {
            if let password = url.password {
                let arguments = url.user.map { ["AUTH", $0, password] } ?? ["AUTH", password]
                _ = try await connection.send(arguments).withTimeout(timeout, on: eventLoop).get()
            }
            if url.database != 0 {
                _ = try await connection.send(["SELECT", String(url.database)]).withTimeout(timeout, on: eventLoop).get()
            }
        } catch {
            connection.close()
            throw error
        }
        return connection
    }

    /// Sends a command; the reply (or `RedisError.server`) completes the future.
    public func send(_ arguments: [String]) -> EventLoopFuture<RESPValue> {
        var buffer = channel.allocator.buffer(capacity: 64)
        RESPEncoder.write(arguments, into: &buffer)
        return send(encoded: buffer)
    }

    /// Sends a command with binary arguments.
    public func send(_ arguments: [ByteBuffer]) -> EventLoopFuture<RESPValue> {
        var buffer = channel.allocator.buffer(capacity: arguments.reduce(32) { $0 + $1.readableBytes + 16 })
        RESPEncoder.write(arguments, into: &buffer)
        return send(encoded: buffer)
    }

    /// Sends a command already encoded with `RESPEncoder`.
    public func send(encoded: ByteBuffer) -> EventLoopFuture<RESPValue> {
        let promise = channel.eventLoop.makePromise(of: RESPValue.self)
        enqueue(encoded, .promise(promise))
        return promise.futureResult
    }

    /// Sends a command already encoded with `RESPEncoder`; `completion` runs on its event loop
    /// with the reply. Commands sent together from any thread go out in one write, and the
    /// replies for one loop come back in one task: the publish hot path.
    public func send(encoded: ByteBuffer, completion: RedisCompletion) {
        enqueue(encoded, .callback(completion))
    }

    /// Sends a command of exactly `room` bytes that `write` writes (with `RESPEncoder`'s
    /// writers) straight into the connection's outgoing buffer: no buffer of its own. The
    /// publish hot path; `completion` as in `send(encoded:completion:)`.
    package func send(room: Int, writing write: (inout ByteWriter) -> Void, completion: RedisCompletion) {
        let schedule = outbox.withLock { outbox -> Bool in
            outbox.commands.append(room: room, write, .callback(completion))
            return Self.schedule(&outbox.scheduled)
        }
        if schedule { channel.eventLoop.execute { self.drainOutbox() } }
    }

    private func enqueue(_ command: ByteBuffer, _ waiter: RedisReplyWaiter) {
        let schedule = outbox.withLock { outbox -> Bool in
            outbox.commands.append(command, waiter)
            return Self.schedule(&outbox.scheduled)
        }
        if schedule { channel.eventLoop.execute { self.drainOutbox() } }
    }

    /// `true` for the first command since the last drain: it schedules the next one.
    private static func schedule(_ scheduled: inout Bool) -> Bool {
        guard !scheduled else { return false }
        scheduled = true
        return true
    }

    private func drainOutbox() {
        let commands = outbox.withLock { outbox in
            outbox.scheduled = false
            return outbox.commands.take()
        }
        // On the channel's loop: an active channel has its handler, which owns the waiters from
        // the write on (and fails them if the connection closes); a closed one never shows them
        // to the handler, so they fail here. No promise per write.
        guard channel.isActive else {
            var batch = CrossLoopTasks()
            for waiter in commands.waiters { waiter.complete(.failure(.connectionClosed), batch: &batch, on: channel.eventLoop) }
            batch.dispatch()
            return
        }
        channel.writeAndFlush(RedisOutbound.commands(commands.writes, waiters: commands.waiters), promise: nil)
    }

    /// Sends SUBSCRIBE, UNSUBSCRIBE or PING on a subscriber connection: the confirmations come
    /// as pushes to the callbacks.
    public func sendSubscription(_ arguments: [String]) {
        channel.writeAndFlush(RedisOutbound.subscription(RESPEncoder.encode(arguments)), promise: nil)
    }

    /// Sends subscribe-mode commands already encoded with `RESPEncoder` (several in one write).
    public func sendSubscription(encoded: ByteBuffer) {
        channel.writeAndFlush(RedisOutbound.subscription(encoded), promise: nil)
    }

    /// Closes the connection.
    public func close() {
        channel.close(promise: nil)
    }

    /// Completes when the connection closed.
    public var closeFuture: EventLoopFuture<Void> { channel.closeFuture }
}

extension EventLoopFuture where Value: Sendable {
    /// Fails with `RedisError.timeout` unless the future completes within `timeout`.
    func withTimeout(_ timeout: TimeAmount, on eventLoop: any EventLoop) -> EventLoopFuture<Value> {
        let promise = eventLoop.makePromise(of: Value.self)
        let done = Atomic(false)
        let timer = eventLoop.scheduleTask(in: timeout) {
            guard done.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else { return }
            promise.fail(RedisError.timeout)
        }
        self.whenComplete { result in
            timer.cancel()
            guard done.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else { return }
            promise.completeWith(result)
        }
        return promise.futureResult
    }
}
