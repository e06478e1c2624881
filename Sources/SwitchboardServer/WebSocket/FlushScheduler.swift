import NIOCore

/// Something the flush pass visits.
protocol FlushTarget: AnyObject {
    /// Set by the scheduler: the target is queued for this pass.
    var flushQueued: Bool { get set }
    /// Flushes what the target wrote.
    func flushNow()
}

/// Coalesces flushes on one event loop: sockets written during a tick (replies, delivered
/// messages) are flushed once, together, after the tick's I/O — one write syscall per socket
/// per tick however many messages it got.
final class FlushScheduler {
    private let eventLoop: any EventLoop
    @exclusivity(unchecked) private var pending: [any FlushTarget] = []
    /// The list being flushed, swapped with `pending` so neither is reallocated per tick.
    @exclusivity(unchecked) private var flushing: [any FlushTarget] = []
    @exclusivity(unchecked) private var scheduled = false

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Queues `target` for the end of this tick.
    func schedule(_ target: any FlushTarget) {
        eventLoop.preconditionInEventLoop()
        if !target.flushQueued {
            target.flushQueued = true
            pending.append(target)
        }
        guard !scheduled else { return }
        scheduled = true
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        eventLoop.execute { bound.value.run() }
    }

    private func run() {
        scheduled = false
        swap(&pending, &flushing)
        for target in flushing {
            target.flushQueued = false
            target.flushNow()
        }
        flushing.removeAll(keepingCapacity: true)
    }
}
