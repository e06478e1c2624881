import NIOCore

/// Something the keepalive pass visits.
protocol KeepaliveTarget: AnyObject {
    /// One keepalive pass: ping if idle, drop if the last ping went unanswered.
    func keepaliveTick()
}

/// The keepalive timer of one event loop: one repeated task visits every socket of the loop,
/// so an idle socket costs no timer and no task of its own.
final class ConnectionKeeper {
    private let eventLoop: any EventLoop
    private let interval: TimeAmount
    private var targets: [ObjectIdentifier: any KeepaliveTarget] = [:]
    private var task: RepeatedTask?

    init(eventLoop: any EventLoop, interval: TimeAmount) {
        self.eventLoop = eventLoop
        self.interval = interval
    }

    func add(_ target: any KeepaliveTarget) {
        eventLoop.preconditionInEventLoop()
        targets[ObjectIdentifier(target)] = target
        if task == nil {
            let bound = NIOLoopBound(self, eventLoop: eventLoop)
            task = eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
                bound.value.tick()
            }
        }
    }

    func remove(_ target: any KeepaliveTarget) {
        eventLoop.preconditionInEventLoop()
        targets[ObjectIdentifier(target)] = nil
        if targets.isEmpty {
            task?.cancel()
            task = nil
        }
    }

    private func tick() {
        for target in Array(targets.values) { target.keepaliveTick() }
    }
}
