import Testing

@testable import Switchboard

@Suite("InPlaceQueue")
struct InPlaceQueueTests {
    /// Counts live instances, to see that every element is released exactly once.
    final class Tracked {
        nonisolated(unsafe) static var live = 0
        let value: Int
        init(_ value: Int) {
            self.value = value
            Self.live += 1
        }
        deinit { Self.live -= 1 }
    }

    @Test("first in, first out, across wrap-around and growth")
    func order() {
        let queue = InPlaceQueue<Int>()
        var expected: [Int] = []
        var next = 0
        // Interleaved appends and removals walk the head around the ring, then past its size.
        for round in 0..<50 {
            for _ in 0..<(round % 5 + 1) {
                queue.append(next)
                expected.append(next)
                next += 1
            }
            for _ in 0..<(round % 3) where !expected.isEmpty {
                #expect(queue.removeFirst() == expected.removeFirst())
            }
            #expect(queue.count == expected.count)
            for offset in expected.indices { #expect(queue[offset] == expected[offset]) }
        }
        while !expected.isEmpty { #expect(queue.removeFirst() == expected.removeFirst()) }
        #expect(queue.isEmpty)
    }

    @Test("elements are changed where they lie")
    func changeInPlace() {
        let queue = InPlaceQueue<[Int]>()
        queue.append([1])
        queue.append([2])
        queue.append([3])  // grows
        queue[1].append(20)
        var taken: [Int] = []
        swap(&taken, &queue[2])
        #expect(taken == [3])
        #expect(queue[2] == [])
        #expect(queue.removeFirst() == [1])
        #expect(queue.removeFirst() == [2, 20])
    }

    @Test("every element is released once: on removal, removeAll, and with the queue")
    func releases() {
        #expect(Tracked.live == 0)
        do {
            let queue = InPlaceQueue<Tracked>()
            for value in 0..<5 { queue.append(Tracked(value)) }
            #expect(Tracked.live == 5)
            #expect(queue.removeFirst().value == 0)
            #expect(Tracked.live == 4)
            queue.removeAll()
            #expect(Tracked.live == 0)
            #expect(queue.isEmpty)
            // Wrapped (eight slots now): the elements run past the end when the queue goes.
            for value in 0..<7 { queue.append(Tracked(value)) }
            for _ in 0..<6 { _ = queue.removeFirst() }
            for value in 7..<11 { queue.append(Tracked(value)) }
            #expect(queue[0].value == 6 && queue[4].value == 10)
            #expect(Tracked.live == 5)
        }
        #expect(Tracked.live == 0)
        // A queue that never held anything has no storage to free.
        _ = InPlaceQueue<Tracked>()
    }
}
