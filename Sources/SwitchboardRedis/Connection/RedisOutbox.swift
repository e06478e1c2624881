import NIOCore
import Switchboard

/// Commands sent to one connection since its loop last wrote, in order: their bytes joined
/// (`JoinedWrites`: one write for a burst), and who waits for each reply. A command can be
/// written straight into the join (`append(room:_:_:)`: the publish path, no buffer of its
/// own), or come encoded (`append(_:_:)`).
struct RedisOutbox {
    /// Joined buffers stop growing here; an encoded command over half of it is written on its
    /// own (never copied into a join).
    let limit: Int
    private var joined: JoinedWrites
    /// Joined buffers and large commands ready to write, in order, before what `joined` holds.
    private var writes: [ByteBuffer] = []
    /// One per command, in the order of the bytes.
    private(set) var waiters: [RedisReplyWaiter] = []

    init(limit: Int = 64 << 10) {
        self.limit = limit
        self.joined = JoinedWrites(limit: limit)
    }

    var isEmpty: Bool { waiters.isEmpty }

    /// Adds an encoded command.
    mutating func append(_ command: ByteBuffer, _ waiter: RedisReplyWaiter) {
        if command.readableBytes > limit / 2 {
            if let rest = joined.take() { writes.append(rest) }
            writes.append(command)
        } else if let full = joined.add(command) {
            writes.append(full)
        }
        waiters.append(waiter)
    }

    /// Adds a command of exactly `room` bytes, written by `write` into the join.
    mutating func append(room: Int, _ write: (inout ByteWriter) -> Void, _ waiter: RedisReplyWaiter) {
        if let full = joined.add(room: room, write) { writes.append(full) }
        waiters.append(waiter)
    }

    /// Takes everything, in write order, leaving the outbox empty.
    mutating func take() -> (writes: [ByteBuffer], waiters: [RedisReplyWaiter]) {
        if let rest = joined.take() { writes.append(rest) }
        defer {
            writes = []
            waiters = []
        }
        return (writes, waiters)
    }
}
