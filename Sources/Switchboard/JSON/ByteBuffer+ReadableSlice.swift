package import NIOCore

extension ByteBuffer {
    /// The bytes at `range` of the readable bytes (offsets from `readerIndex`, as the JSON
    /// parser reports them), sharing this buffer's storage. `range` must lie within them.
    package func readableSlice(_ range: Range<Int>) -> ByteBuffer {
        getSlice(at: readerIndex + range.lowerBound, length: range.count)!
    }
}
