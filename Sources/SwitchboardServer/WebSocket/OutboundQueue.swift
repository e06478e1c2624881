import NIOCore

/// A socket's outgoing frames that the channel cannot take yet, and the limit on what may wait:
/// every byte not yet taken by the kernel counts, the frames queued here and what the channel
/// still buffers. Pure: the caller says how writable the channel is and how much it buffers.
struct OutboundQueue {
    /// What to do with a frame.
    enum Decision: Equatable {
        /// Write it to the channel now.
        case write
        /// Keep it until the channel is writable again.
        case queue
        /// It would pass the limit: the socket is a slow consumer.
        case tooMuch(pending: Int)
    }

    /// Most bytes that may wait for the kernel.
    let limit: Int
    /// The channel's high-water mark: a writable channel buffers less than this.
    let highWaterMark: Int
    private(set) var frames = CircularBuffer<ByteBuffer>()
    private(set) var bytes = 0

    init(limit: Int, highWaterMark: Int = 64 * 1024) {
        self.limit = limit
        self.highWaterMark = highWaterMark
    }

    var isEmpty: Bool { frames.isEmpty }

    /// Where a frame of `size` bytes goes. `channelBuffered` is read only when needed (a
    /// writable channel buffers less than its high-water mark). `force` (control frames) never
    /// counts against the limit; one frame is always taken when nothing waits.
    func decide(size: Int, channelWritable: Bool, force: Bool = false, channelBuffered: () -> Int) -> Decision {
        let writable = frames.isEmpty && channelWritable
        if writable, size <= limit - highWaterMark { return .write }
        if !force {
            let pending = bytes + channelBuffered()
            if pending > 0, pending + size > limit { return .tooMuch(pending: pending) }
        }
        return writable ? .write : .queue
    }

    /// Keeps `frame` for later.
    mutating func append(_ frame: ByteBuffer) {
        frames.append(frame)
        bytes += frame.readableBytes
    }

    /// The next frame to write, once the channel is writable again.
    mutating func next() -> ByteBuffer? {
        guard let frame = frames.popFirst() else { return nil }
        bytes -= frame.readableBytes
        return frame
    }

    /// Drops everything (the socket closes).
    mutating func removeAll() {
        frames.removeAll()
        bytes = 0
    }
}
