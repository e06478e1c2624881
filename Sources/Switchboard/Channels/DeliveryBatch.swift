import NIOCore

/// Messages for sockets, collected per event loop and sent with one task per loop.
///
/// A broker fills one batch per read (many messages) and dispatches it at the end, so a burst
/// of messages costs one hop per loop (and the transport flushes each socket once for it: the
/// read, or the task on another loop, is a unit of `LoopWork`).
public struct DeliveryBatch {
    private struct Item: Sendable {
        let sockets: [any SocketHandle]
        let message: OutboundMessage
    }

    private var items = EventLoopBatches<Item>()

    public init() {}

    /// `true` when nothing was added.
    public var isEmpty: Bool { items.isEmpty }

    mutating func add(_ sockets: [any SocketHandle], message: consuming OutboundMessage, loop: any EventLoop) {
        // The item is made here and moved into the batch (consumed, not copied).
        items.add(Item(sockets: sockets, message: message), on: loop)
    }

    /// Sends everything collected: one task per event loop; then the batch is empty.
    public mutating func dispatch() {
        for index in items.batches.indices {
            let loop = items.batches[index].loop
            if loop.inEventLoop {
                Self.deliver(items.batches[index].work)
            } else {
                let work = items.batches[index].work
                // A unit of work there: its sockets are flushed as it ends, no second task.
                loop.execute { LoopWork.run { Self.deliver(work) } }
            }
        }
        items.batches.removeAll(keepingCapacity: true)
    }

    /// Hands each item's message to its sockets, read where they lie: the items through a
    /// pointer, so neither the message (its frames) nor a socket is copied or reference counted.
    private static func deliver(_ items: [Item]) {
        items.withUnsafeBufferPointer { items in
            for index in items.indices { hand(items[index].message, to: items[index].sockets) }
        }
    }

    private static func hand(_ message: borrowing OutboundMessage, to sockets: [any SocketHandle]) {
        sockets.withUnsafeBufferPointer { sockets in
            for number in sockets.indices { sockets[number].enqueue(message) }
        }
    }
}
