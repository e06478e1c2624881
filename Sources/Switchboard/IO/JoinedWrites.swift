package import NIOCore

/// Buffers written one after another, joined into one (up to `limit` bytes) so that a burst of
/// them costs one channel write: NIO's bookkeeping per write (the pipeline, the pending-write
/// ring, promises) is paid once, not per frame or command. The first buffer is kept as it is,
/// so a lone write is not copied; a second one is appended, which copies the first out of a
/// buffer someone else shares.
package struct JoinedWrites {
    package let limit: Int
    private var pending: ByteBuffer?

    package init(limit: Int = 64 << 10) {
        self.limit = limit
    }

    /// Adds `buffer`. When it does not fit with what is joined, returns the joined buffers to
    /// write first (and `buffer` starts the next join).
    package mutating func add(_ buffer: ByteBuffer) -> ByteBuffer? {
        guard var joined = pending.take() else {
            pending = buffer
            return nil
        }
        guard joined.readableBytes + buffer.readableBytes <= limit else {
            pending = buffer
            return joined
        }
        joined.writeImmutableBuffer(buffer)
        pending = joined
        return nil
    }

    /// Adds `room` bytes that `write` writes at the end of the join itself (no buffer of their
    /// own). When they do not fit with what is joined, returns the joined buffers to write first
    /// (and they start the next join).
    package mutating func add(room: Int, _ write: (inout ByteWriter) -> Void) -> ByteBuffer? {
        // One reference to the join while it is written to (a second would make it copy).
        var buffer = pending.take() ?? ByteBufferAllocator().buffer(capacity: max(1024, room))
        var full: ByteBuffer? = nil
        if buffer.readableBytes > 0, buffer.readableBytes + room > limit {
            full = buffer
            buffer = ByteBufferAllocator().buffer(capacity: max(1024, room))
        }
        buffer.writeParts(room: room, write)
        pending = buffer
        return full
    }

    /// What is joined, to write now; nothing is left joined.
    package mutating func take() -> ByteBuffer? {
        pending.take()
    }
}
