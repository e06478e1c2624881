import NIOCore
import Switchboard

/// Commands sent to one connection since its loop last wrote, in order: their bytes joined into
/// as few buffers as the limit allows (one write for a burst), and who waits for each reply. A
/// command can be written straight into the joined buffer (`append(room:_:)`: the publish path,
/// no buffer of its own), or come encoded (`append(_:)`, copied in while it fits).
struct RedisOutbox {
    /// Joined buffers stop growing here; a command this large is written on its own.
    let limit: Int
    /// Full joined buffers and large commands, in order, before `current`.
    private(set) var writes: [ByteBuffer] = []
    /// The buffer commands are joined into now.
    private(set) var current: ByteBuffer?
    /// One per command, in the order of the bytes.
    private(set) var waiters: [RedisReplyWaiter] = []

    init(limit: Int = 64 << 10) {
        self.limit = limit
    }

    var isEmpty: Bool { waiters.isEmpty }

    /// Adds an encoded command.
    mutating func append(_ command: ByteBuffer, _ waiter: RedisReplyWaiter) {
        if command.readableBytes > limit / 2 {
            // Large: not copied, written after what is joined so far.
            endCurrent()
            writes.append(command)
        } else {
            var buffer = joining(room: command.readableBytes)
            buffer.writeImmutableBuffer(command)
            current = buffer
        }
        waiters.append(waiter)
    }

    /// Adds a command of exactly `room` bytes, written by `write` into the joined buffer.
    mutating func append(room: Int, _ write: (inout ByteWriter) -> Void, _ waiter: RedisReplyWaiter) {
        var buffer = joining(room: room)
        buffer.writeParts(room: room, write)
        current = buffer
        waiters.append(waiter)
    }

    /// Takes everything, in write order, leaving the outbox empty.
    mutating func take() -> (writes: [ByteBuffer], waiters: [RedisReplyWaiter]) {
        endCurrent()
        defer {
            writes = []
            waiters = []
        }
        return (writes, waiters)
    }

    /// The joined buffer with `room` more bytes free, taken out of `current` (so that writing to
    /// it copies nothing): a new one when the current one would pass the limit.
    private mutating func joining(room: Int) -> ByteBuffer {
        if let buffer = current, buffer.readableBytes + room > limit { endCurrent() }
        var buffer = current.take() ?? ByteBufferAllocator().buffer(capacity: max(1024, room))
        buffer.reserveCapacity(minimumWritableBytes: room)
        return buffer
    }

    private mutating func endCurrent() {
        if let buffer = current.take(), buffer.readableBytes > 0 { writes.append(buffer) }
    }
}
