import NIOCore

/// Messages for sockets, collected per event loop and sent with one task per loop.
///
/// A broker fills one batch per read (many messages) and dispatches it at the end, so a burst
/// of messages costs one hop per loop (and the transport flushes each socket once per tick).
public struct DeliveryBatch {
    private struct Item: Sendable {
        let sockets: [any SocketHandle]
        let message: OutboundMessage
    }

    private var items = EventLoopBatches<Item>()

    public init() {}

    /// `true` when nothing was added.
    public var isEmpty: Bool { items.isEmpty }

    mutating func add(_ sockets: [any SocketHandle], message: OutboundMessage, loop: any EventLoop) {
        // The item is made here and moved into the batch (consumed, not copied).
        items.add(Item(sockets: sockets, message: message), on: loop)
    }

    /// Sends everything collected: one task per event loop; then the batch is empty.
    public mutating func dispatch() {
        items.dispatch { item in
            item.sockets.withUnsafeBufferPointer { sockets in
                guard let first = sockets.baseAddress else { return }
                for index in 0..<sockets.count { first[index].enqueue(item.message) }
            }
        }
    }
}
