import NIOCore
import NIOEmbedded
import Switchboard
import Testing

@testable import SwitchboardServer

/// Sockets written during a unit of work (a read from Redis) are flushed as it ends, with no
/// task; written outside one, by a task after the tick; once per pass however often written.
@Suite("Flush scheduler")
struct FlushSchedulerTests {
    final class Socket: FlushTarget {
        var flushQueued = false
        var flushes = 0
        var onFlush: () -> Void = {}

        func flushNow() {
            flushes += 1
            onFlush()
        }
    }

    /// A scheduler on an embedded loop: its task runs when the test runs the loop.
    static func scheduler() -> (EmbeddedEventLoop, FlushScheduler) {
        let loop = EmbeddedEventLoop()
        return (loop, FlushScheduler(eventLoop: loop))
    }

    @Test("written outside a unit of work: flushed once by the tick's task")
    func tick() {
        let (loop, scheduler) = Self.scheduler()
        let socket = Socket()
        scheduler.schedule(socket)
        scheduler.schedule(socket)
        #expect(socket.flushes == 0, "flushed before the tick's task")
        loop.run()
        #expect(socket.flushes == 1)
        #expect(!socket.flushQueued)
    }

    @Test("written during a unit of work: flushed once as it ends, no task left")
    func unitOfWork() {
        let (loop, scheduler) = Self.scheduler()
        let first = Socket()
        let second = Socket()
        LoopWork.run {
            scheduler.schedule(first)
            scheduler.schedule(second)
            scheduler.schedule(first)
            #expect(first.flushes == 0)
        }
        #expect(first.flushes == 1)
        #expect(second.flushes == 1)
        loop.run()
        #expect(first.flushes == 1, "flushed again by a task")
    }

    @Test("written while its flush runs: a task takes it")
    func whileFlushing() {
        let (loop, scheduler) = Self.scheduler()
        let first = Socket()
        let second = Socket()
        first.onFlush = { scheduler.schedule(second) }
        LoopWork.run { scheduler.schedule(first) }
        #expect(first.flushes == 1)
        #expect(second.flushes == 0)
        loop.run()
        #expect(second.flushes == 1)
        #expect(first.flushes == 1)
    }

    @Test("a task already queued and a unit of work: each socket still flushed once")
    func taskThenUnit() {
        let (loop, scheduler) = Self.scheduler()
        let socket = Socket()
        scheduler.schedule(socket)
        LoopWork.run { scheduler.schedule(socket) }
        loop.run()
        #expect(socket.flushes == 1)
    }
}
