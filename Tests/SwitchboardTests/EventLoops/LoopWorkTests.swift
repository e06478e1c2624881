import Foundation
import Switchboard
import Synchronization
import Testing

/// A unit of work on a thread and what is done when it ends: once, at the outermost end, thrown
/// or not; nothing is queued outside one or while it ends (the caller then takes a task).
@Suite("Loop work")
struct LoopWorkTests {
    final class Item: LoopWorkEnd {
        var waitsForWorkEnd = false
        var ended = 0
        var onEnd: () -> Void = {}

        func workEnded() {
            ended += 1
            onEnd()
        }
    }

    struct Failure: Error {}

    @Test("an item queued twice in nested units is done once, when the outermost ends")
    func nested() {
        let item = Item()
        LoopWork.run {
            #expect(LoopWork.current.atEnd(item))
            LoopWork.run {
                #expect(LoopWork.current.atEnd(item))
            }
            #expect(item.ended == 0, "done before the outer unit ended")
        }
        #expect(item.ended == 1)
        #expect(!item.waitsForWorkEnd)
        #expect(!LoopWork.current.isRunning)
    }

    @Test("outside a unit of work nothing is queued: the caller is told to see to it")
    func outside() {
        let item = Item()
        #expect(!LoopWork.current.isRunning)
        #expect(!LoopWork.current.atEnd(item))
        LoopWork.run {}
        #expect(item.ended == 0)
    }

    @Test("a unit that throws still ends, and its items are done")
    func thrown() {
        let item = Item()
        #expect(throws: Failure.self) {
            try LoopWork.run {
                _ = LoopWork.current.atEnd(item)
                throw Failure()
            }
        }
        #expect(item.ended == 1)
        // The next unit starts clean.
        LoopWork.run { _ = LoopWork.current.atEnd(item) }
        #expect(item.ended == 2)
    }

    @Test("what an item queues while the unit ends is refused, also from a unit it runs")
    func whileEnding() {
        let first = Item()
        let second = Item()
        var accepted: [Bool] = []
        first.onEnd = {
            accepted.append(LoopWork.current.atEnd(second))
            LoopWork.run { accepted.append(LoopWork.current.atEnd(second)) }
        }
        LoopWork.run { _ = LoopWork.current.atEnd(first) }
        #expect(first.ended == 1)
        #expect(accepted == [false, false])
        #expect(second.ended == 0)
        // Afterwards units work as before.
        LoopWork.run { _ = LoopWork.current.atEnd(second) }
        #expect(second.ended == 1)
    }

    @Test("each thread has its own: a unit here is not one on another thread")
    func perThread() {
        let here = ObjectIdentifier(LoopWork.current)
        let seen = Mutex<(ObjectIdentifier, Bool)?>(nil)
        let answered = DispatchSemaphore(value: 0)
        LoopWork.run {
            let thread = Thread {
                let work = LoopWork.current
                seen.withLock { $0 = (ObjectIdentifier(work), work.isRunning) }
                answered.signal()
            }
            thread.start()
            // Inside the unit until the other thread has looked.
            #expect(answered.wait(timeout: .now() + 10) == .success)
        }
        let other = seen.withLock { $0 }
        #expect(other != nil)
        #expect(other?.0 != here)
        #expect(other?.1 == false, "a unit on this thread showed as running on another")
    }
}
