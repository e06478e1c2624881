import NIOCore
import Switchboard

/// Something the flush pass visits.
protocol FlushTarget: AnyObject {
    /// Set by the scheduler: the target is queued for this pass.
    var flushQueued: Bool { get set }
    /// Flushes what the target wrote.
    func flushNow()
}

/// Coalesces flushes on one event loop: sockets written during a unit of work are flushed once,
/// together, when it is over — one write syscall per socket however many messages it got.
///
/// A unit of work is a read from Redis or a task of messages from another loop when one is
/// running (`LoopWork`: the read flushes what it delivered as it ends, no task of its own),
/// else the event-loop tick (a task after the tick's I/O: a socket's own read, where a burst of
/// requests from many sockets may write to the same ones).
final class FlushScheduler: LoopWorkEnd {
    private let eventLoop: any EventLoop
    @exclusivity(unchecked) private var pending: [any FlushTarget] = []
    /// The list being flushed, swapped with `pending` so neither is reallocated per pass.
    @exclusivity(unchecked) private var flushing: [any FlushTarget] = []
    @exclusivity(unchecked) private var taskScheduled = false
    @exclusivity(unchecked) private var running = false
    @exclusivity(unchecked) var waitsForWorkEnd = false

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Queues `target` for the end of this unit of work (or of this tick).
    func schedule(_ target: any FlushTarget) {
        eventLoop.preconditionInEventLoop()
        if !target.flushQueued {
            target.flushQueued = true
            pending.append(target)
        }
        guard !taskScheduled, !waitsForWorkEnd, !LoopWork.current.atEnd(self) else { return }
        scheduleTask()
    }

    func workEnded() {
        run()
    }

    private func scheduleTask() {
        guard !taskScheduled else { return }
        taskScheduled = true
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        eventLoop.execute {
            bound.value.taskScheduled = false
            bound.value.run()
        }
    }

    private func run() {
        guard !pending.isEmpty else { return }
        // A flush that ends inside another (a write's failure closing a socket that then runs
        // work of its own) leaves what it finds to a task.
        guard !running else { return scheduleTask() }
        running = true
        swap(&pending, &flushing)
        for target in flushing {
            target.flushQueued = false
            target.flushNow()
        }
        flushing.removeAll(keepingCapacity: true)
        running = false
        // Written to while flushing (queued, but no pass was left to take it): a task takes it.
        if !pending.isEmpty, !waitsForWorkEnd { scheduleTask() }
    }
}
