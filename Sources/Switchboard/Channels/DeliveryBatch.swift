import NIOCore

/// Messages for sockets, collected per event loop and sent with one task per loop.
///
/// A broker fills one batch per read (many messages) and dispatches it at the end, so a burst
/// of messages costs one hop per loop (and the transport flushes each socket once per tick).
public struct DeliveryBatch {
    private struct Item {
        let sockets: [any SocketHandle]
        let message: OutboundMessage
    }

    private struct LoopWork {
        let loop: any EventLoop
        var items: [Item]
    }

    private var work: [LoopWork] = []

    public init() {}

    /// `true` when nothing was added.
    public var isEmpty: Bool { work.isEmpty }

    mutating func add(_ sockets: [any SocketHandle], message: OutboundMessage, loop: any EventLoop) {
        let key = ObjectIdentifier(loop)
        if let index = work.firstIndex(where: { ObjectIdentifier($0.loop) == key }) {
            work[index].items.append(Item(sockets: sockets, message: message))
        } else {
            work.append(LoopWork(loop: loop, items: [Item(sockets: sockets, message: message)]))
        }
    }

    /// Sends everything collected: one task per event loop; then the batch is empty.
    public mutating func dispatch() {
        for loopWork in work {
            let items = loopWork.items
            let run: @Sendable () -> Void = {
                for item in items {
                    for socket in item.sockets { socket.enqueue(item.message) }
                }
            }
            if loopWork.loop.inEventLoop {
                run()
            } else {
                loopWork.loop.execute(run)
            }
        }
        work.removeAll(keepingCapacity: true)
    }
}
