public import NIOCore

/// Work for several event loops, collected and sent with one task per loop: a burst of
/// messages or replies costs one hop per loop, not one per item. `DeliveryBatch` (messages for
/// sockets) and the Redis connection's reply callbacks are built on it.
public struct EventLoopBatches<Work: Sendable> {
    @usableFromInline
    var batches: [(loop: any EventLoop, work: [Work])] = []

    @inlinable
    public init() {}

    /// `true` when nothing was added.
    @inlinable
    public var isEmpty: Bool { batches.isEmpty }

    /// Adds `work` for `loop`.
    @inlinable
    public mutating func add(_ work: consuming Work, on loop: any EventLoop) {
        if let index = batches.firstIndex(where: { $0.loop === loop }) {
            batches[index].work.append(work)
        } else {
            batches.append((loop, [work]))
        }
    }

    /// Runs `perform` on each item, on its loop (at once for the loop the caller is on, else in
    /// one task per loop, a unit of `LoopWork`); then the batches are empty.
    @inlinable
    public mutating func dispatch(_ perform: @escaping @Sendable (Work) -> Void) {
        for (loop, work) in batches {
            if loop.inEventLoop {
                for item in work { perform(item) }
            } else {
                loop.execute { LoopWork.run { for item in work { perform(item) } } }
            }
        }
        batches.removeAll(keepingCapacity: true)
    }
}
