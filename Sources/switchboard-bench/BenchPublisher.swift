import NIOCore
import SwitchboardWebSocket
import Synchronization

/// One publishing connection: keeps at most `window` publishes in flight, optionally paced to a
/// rate; runs on its connection's event loop. A paced publisher wakes when its next message is
/// due (not on a fixed tick), so a slow rate does not wake the bench, and disturb the nodes it
/// measures, a thousand times a second.
///
/// Paced messages are due at random points of their slots: message `k` at `(k + u) / rate`, `u`
/// uniform in [0, 1). The rate is the same, but the nodes' work is not locked in phase with the
/// kernel's timer tick: an even 1,000 msg/s falls on the same four points of every 4 ms tick,
/// and the kernel, which splits a process's CPU time into user and system by what the tick
/// finds it doing, then gives the nodes' user/system split by the run's phase (0 to 90% user
/// for the same build). docs/performance.md, issue 21's sixth pass.
final class PublisherDriver: @unchecked Sendable {
    private let channel: any Channel
    private let index: Int
    private let total: Int
    private let channels: [String]
    private let padding: String
    private let window: Int
    private let rate: Double
    private let counters: BenchCounters
    private let method: String
    private let done: EventLoopPromise<Void>
    @exclusivity(unchecked) private var sent = 0
    @exclusivity(unchecked) private var replied = 0
    private var started: UInt64 = 0
    /// When the next paced message is due, in seconds from `started`.
    private var nextDue = 0.0
    private var random = SplitMix64(seed: UInt64.random(in: .min ... .max))
    private var task: Scheduled<Void>?

    init(channel: any Channel, index: Int, total: Int, channels: [String], padding: String, window: Int, rate: Double, counters: BenchCounters, method: String = "publish") {
        self.method = method
        self.channel = channel
        self.index = index
        self.total = total
        self.channels = channels
        self.padding = padding
        self.window = window
        self.rate = rate
        self.counters = counters
        self.done = channel.eventLoop.makePromise()
    }

    /// Completes when every publish was answered.
    var finished: EventLoopFuture<Void> { done.futureResult }

    func start() {
        channel.eventLoop.execute {
            self.started = monotonicNanoseconds()
            if self.total == 0 {
                self.done.succeed()
            } else if self.rate > 0 {
                self.nextDue = self.slotOffset() / self.rate
                self.tick()
            } else {
                self.fillWindow()
            }
        }
    }

    private func tick() {
        let elapsed = Double(monotonicNanoseconds() - started) / 1e9
        var wrote = false
        while sent < total, nextDue <= elapsed, sent - replied < window {
            send()
            wrote = true
            nextDue = (Double(sent) + slotOffset()) / rate
        }
        if wrote { channel.flush() }
        guard sent < total else { return }
        // The next message's time, or (when the window held one back) a millisecond.
        let next = nextDue <= elapsed ? 0.001 : max(nextDue - elapsed, 0.00005)
        task = channel.eventLoop.scheduleTask(in: .nanoseconds(Int64(next * 1e9))) { self.tick() }
    }

    /// A paced message's point in its slot, a fraction of the period.
    private func slotOffset() -> Double { Double.random(in: 0..<1, using: &random) }

    /// As fast as possible: sends until the window is full or every message is sent.
    private func fillWindow() {
        var wrote = false
        while sent < total, sent - replied < window {
            send()
            wrote = true
        }
        if wrote { channel.flush() }
    }

    private func send() {
        let channelName = channels[(sent + index) % channels.count]
        let request = BenchMessage.request(id: sent, channel: channelName, publisher: index, sequence: sent, padding: padding, method: method)
        WebSocketClientConnection.send(text: request, on: channel, flush: false, promise: nil)
        sent += 1
    }

    /// A reply came (on the connection's loop).
    func replied(_ text: ByteBuffer) {
        let isError = text.readableBytesView.starts(with: #"{"error""#.utf8)
        replied += 1
        if isError { counters.publishErrors.add(1, ordering: .relaxed) } else { counters.published.add(1, ordering: .relaxed) }
        if replied == total {
            task?.cancel()
            done.succeed()
        }
    }

    /// A read ended: refill the window with one write (as-fast-as-possible mode).
    func readComplete() {
        if rate == 0, replied < total { fillWindow() }
    }
}
