import Histogram
import NIOCore
import Synchronization

/// Counters shared by every connection of the benchmark (relaxed atomics: read for progress).
final class BenchCounters: Sendable {
    let delivered = Atomic<Int>(0)
    let published = Atomic<Int>(0)
    let publishErrors = Atomic<Int>(0)
    let closedSubscribers = Atomic<Int>(0)
}

/// Per event loop: the latency histogram and completeness counters of the subscribers on that
/// loop. Touched only on its loop; merged at the end.
final class LoopStats: @unchecked Sendable {
    let eventLoop: any EventLoop
    @exclusivity(unchecked) var latency = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
    @exclusivity(unchecked) var delivered = 0
    @exclusivity(unchecked) var duplicates = 0
    @exclusivity(unchecked) var reordered = 0
    @exclusivity(unchecked) var compressed = 0
    @exclusivity(unchecked) var foreign = 0

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }
}

/// Per subscriber socket: the last sequence seen from each publisher.
final class SubscriberState: @unchecked Sendable {
    @exclusivity(unchecked) var last: [Int]
    var pendingReply: EventLoopPromise<ByteBuffer>?
    let stats: LoopStats
    let counters: BenchCounters

    init(publishers: Int, stats: LoopStats, counters: BenchCounters) {
        self.last = Array(repeating: -1, count: publishers)
        self.stats = stats
        self.counters = counters
    }

    /// A message arrived (on the socket's loop).
    func received(_ text: ByteBuffer, compressed: Bool) {
        let now = monotonicNanoseconds()
        guard let stamp = BenchMessage.stamp(in: text), stamp.publisher < last.count else {
            stats.foreign += 1
            return
        }
        stats.delivered += 1
        if compressed { stats.compressed += 1 }
        counters.delivered.add(1, ordering: .relaxed)
        _ = stats.latency.record(now > stamp.sentAt ? now - stamp.sentAt : 0)
        let previous = last[stamp.publisher]
        if stamp.sequence == previous {
            stats.duplicates += 1
        } else if stamp.sequence < previous {
            stats.reordered += 1
        } else {
            last[stamp.publisher] = stamp.sequence
        }
    }
}
