import NIOCore
import NIOPosix
import SwitchboardRedis
import SwitchboardTesting
import Testing

@Suite("Redis connection against a real redis-server")
struct RedisConnectionTests {
    let loop = MultiThreadedEventLoopGroup.singleton.next()

    @Test("10,000 pipelined commands, replies in order")
    func pipelining() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        let connection = try await RedisConnection.connect(to: RedisURL(redis.url), on: loop)
        let futures = (1...10_000).map { _ in connection.send(["INCR", "counter"]) }
        let replies = try await EventLoopFuture.whenAllSucceed(futures, on: loop).get()
        #expect(replies == (1...10_000).map { RESPValue.integer(Int64($0)) })
        connection.close()
    }

    @Test("a command not answered within the command timeout fails with timeout, with those behind it, and closes the connection")
    func commandTimeout() async throws {
        let redis = try await RedisServer.start()
        defer {
            redis.resume()
            redis.stop()
        }
        let connection = try await RedisConnection.connect(to: RedisURL(redis.url), on: loop, commandTimeout: .milliseconds(400))
        #expect(try await connection.send(["PING"]).get() == .simpleString("PONG"))
        redis.pause()
        let started = ContinuousClock.now
        let first = connection.send(["PING"])
        let second = connection.send(["INCR", "n"])
        await #expect(throws: RedisError.timeout) { try await first.get() }
        await #expect(throws: RedisError.timeout) { try await second.get() }
        #expect(ContinuousClock.now - started < .seconds(3))
        try await connection.closeFuture.get()
    }

    @Test("binary-safe values: every byte value, and 1 MiB")
    func binary() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        let connection = try await RedisConnection.connect(to: RedisURL(redis.url), on: loop)
        let all = ByteBuffer(bytes: (0...255).map { UInt8($0) })
        let big = ByteBuffer(repeating: 0x0D, count: 1 << 20)
        _ = try await connection.send([ByteBuffer(string: "SET"), ByteBuffer(string: "all"), all]).get()
        _ = try await connection.send([ByteBuffer(string: "SET"), ByteBuffer(string: "big"), big]).get()
        #expect(try await connection.send(["GET", "all"]).get() == .bulkString(all))
        #expect(try await connection.send(["GET", "big"]).get() == .bulkString(big))
        #expect(try await connection.send(["GET", "missing"]).get() == .null)
        connection.close()
    }

    @Test("error replies fail their command only")
    func errorReplies() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        let connection = try await RedisConnection.connect(to: RedisURL(redis.url), on: loop)
        let bad = connection.send(["NOSUCHCOMMAND"])
        let good = connection.send(["PING"])
        await #expect(throws: RedisError.self) { try await bad.get() }
        #expect(try await good.get() == .simpleString("PONG"))
        connection.close()
    }

    @Test("AUTH and SELECT from the URL; a wrong password is refused")
    func authAndSelect() async throws {
        let redis = try await RedisServer.start(arguments: ["--requirepass", "s3cret"])
        defer { redis.stop() }
        let connection = try await RedisConnection.connect(to: RedisURL("redis://:s3cret@127.0.0.1:\(redis.port)/3"), on: loop)
        _ = try await connection.send(["SET", "where", "db3"]).get()
        let check = try await RedisConnection.connect(to: RedisURL("redis://default:s3cret@127.0.0.1:\(redis.port)/3"), on: loop)
        #expect(try await check.send(["GET", "where"]).get().string == "db3")
        await #expect(throws: RedisError.server("WRONGPASS invalid username-password pair or user is disabled.")) {
            _ = try await RedisConnection.connect(to: RedisURL("redis://:nope@127.0.0.1:\(redis.port)"), on: loop)
        }
        connection.close()
        check.close()
    }

    @Test("a server that closes mid-reply fails the pending commands")
    func closedMidReply() async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(HalfReply()) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let connection = try await RedisConnection.connect(to: RedisURL(host: "127.0.0.1", port: server.localAddress!.port!), on: loop)
        await #expect(throws: RedisError.connectionClosed) { try await connection.send(["GET", "x"]).get() }
        await #expect(throws: RedisError.connectionClosed) { try await connection.send(["GET", "y"]).get() }
        try await server.close()
    }

    @Test("nothing listening: the connect fails")
    func refused() async throws {
        // Port 1 is privileged and unused on a test machine: the connection is refused.
        await #expect(throws: (any Error).self) {
            _ = try await RedisConnection.connect(to: RedisURL(host: "127.0.0.1", port: 1), on: loop)
        }
    }
}

/// Answers the first command with half a bulk string, then closes.
private final class HalfReply: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "$10\r\nabc")), promise: nil)
        context.close(promise: nil)
    }
}
