import NIOCore
import NIOEmbedded
import Synchronization
import Switchboard
import Testing

@testable import SwitchboardRedis

@Suite("RedisOutbox")
struct RedisOutboxTests {
    /// The numbers of the waiters whose replies came, in order.
    final class Log: Sendable {
        let numbers = Mutex<[Int]>([])
    }

    /// A waiter that records its number when its reply comes.
    static func waiter(_ number: Int, _ log: Log, on loop: EmbeddedEventLoop) -> RedisReplyWaiter {
        .callback(RedisCompletion(on: loop) { _ in log.numbers.withLock { $0.append(number) } })
    }

    static func text(_ writes: [ByteBuffer]) -> [String] { writes.map { String(buffer: $0) } }

    @Test("commands are joined in order, written ones and encoded ones alike, with a waiter each in the same order")
    func order() {
        let loop = EmbeddedEventLoop()
        let log = Log()
        var outbox = RedisOutbox(limit: 64)
        outbox.append(ByteBuffer(string: "A"), Self.waiter(1, log, on: loop))
        outbox.append(room: 2, { $0.write("BB") }, Self.waiter(2, log, on: loop))
        outbox.append(ByteBuffer(string: "CCC"), Self.waiter(3, log, on: loop))
        #expect(!outbox.isEmpty)
        let (writes, waiters) = outbox.take()
        #expect(Self.text(writes) == ["ABBCCC"])
        var batch = CrossLoopTasks()
        for waiter in waiters { waiter.complete(.success(.null), batch: &batch, on: loop) }
        #expect(log.numbers.withLock { $0 } == [1, 2, 3])
        #expect(outbox.isEmpty)
        #expect(outbox.take().writes.isEmpty)
    }

    @Test("a join stops at the limit; a large command goes alone, after what was joined before it")
    func limits() {
        let loop = EmbeddedEventLoop()
        let log = Log()
        var outbox = RedisOutbox(limit: 8)
        outbox.append(ByteBuffer(string: "aaaa"), Self.waiter(1, log, on: loop))
        outbox.append(room: 3, { $0.write("bbb") }, Self.waiter(2, log, on: loop))
        outbox.append(ByteBuffer(string: "cc"), Self.waiter(3, log, on: loop))  // 9 bytes: a new join
        outbox.append(ByteBuffer(string: "LLLLLL"), Self.waiter(4, log, on: loop))  // over half the limit: alone
        outbox.append(room: 1, { $0.write("d") }, Self.waiter(5, log, on: loop))
        let (writes, waiters) = outbox.take()
        #expect(Self.text(writes) == ["aaaabbb", "cc", "LLLLLL", "d"])
        #expect(waiters.count == 5)
    }
}
