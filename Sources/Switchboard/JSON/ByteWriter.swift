package import NIOCore

/// Writes the pieces of one small message (a frame's JSON, a Redis command) into a buffer's
/// free space in one access. Each `ByteBuffer.write…` call checks that the storage is unique,
/// that it has room, and enters an exclusive access; a delivered message is a dozen pieces, so
/// on the hot path that is a good part of the message's cost (docs/performance.md).
///
/// The writer is bounded by the room it was given: a piece that does not fit is not written and
/// marks the writer `overflowed` (the caller sized the room from the same pieces, so that is a
/// bug, which `ByteBuffer.writeParts` turns into a precondition failure rather than a write past
/// the end).
package struct ByteWriter: ~Copyable {
    private let base: UnsafeMutableRawPointer
    private let limit: Int
    /// Bytes written so far.
    package private(set) var count = 0
    /// `true` when a piece did not fit.
    package private(set) var overflowed = false

    init(_ room: UnsafeMutableRawBufferPointer) {
        base = room.baseAddress!
        limit = room.count
    }

    package mutating func write(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        guard count + bytes.count <= limit else { return overflowed = true }
        (base + count).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        count += bytes.count
    }

    package mutating func write(_ text: StaticString) {
        write(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    package mutating func write(_ byte: UInt8) {
        guard count < limit else { return overflowed = true }
        base.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count += 1
    }

    /// The readable bytes of `buffer`.
    package mutating func write(_ buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes { write($0) }
    }

    /// The UTF-8 bytes of `string`, as they are (no JSON escaping).
    package mutating func write(utf8 string: String) {
        var string = string
        string.withUTF8 { write(UnsafeRawBufferPointer($0)) }
    }

    /// The number of decimal digits (and sign) of `value`.
    package static func decimalLength(_ value: Int) -> Int {
        var magnitude = value.magnitude
        var length = value < 0 ? 2 : 1
        while magnitude >= 10 {
            magnitude /= 10
            length += 1
        }
        return length
    }

    /// `value` in decimal digits.
    package mutating func write(decimal value: Int) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for any Int
        let digitCount = withUnsafeMutableBytes(of: &digits) { room -> Int in
            var magnitude = value.magnitude
            var index = room.count
            repeat {
                index -= 1
                room[index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            if value < 0 {
                index -= 1
                room[index] = UInt8(ascii: "-")
            }
            return room.count - index
        }
        withUnsafeBytes(of: &digits) { write(UnsafeRawBufferPointer(rebasing: $0[($0.count - digitCount)...])) }
    }
}

extension ByteBuffer {
    /// Writes at most `room` bytes with `body` in one access to the buffer's storage.
    package mutating func writeParts(room: Int, _ body: (inout ByteWriter) -> Void) {
        writeWithUnsafeMutableBytes(minimumWritableBytes: room) { free in
            var writer = ByteWriter(UnsafeMutableRawBufferPointer(rebasing: free[..<room]))
            body(&writer)
            precondition(!writer.overflowed, "ByteWriter: the pieces did not fit the room they were sized for")
            return writer.count
        }
    }

    /// Writes exactly `room` bytes with `body` just in front of the readable bytes, which then
    /// begin with them: an envelope written into the headroom the buffer was made with (no new
    /// buffer, and no copy unless the buffer is shared). `false`, with the buffer as it was, when
    /// the headroom is less than `room` plus `keeping` (room left in front, for a frame header).
    package mutating func prependParts(room: Int, keeping: Int = 0, _ body: (inout ByteWriter) -> Void) -> Bool {
        guard room >= 0, readerIndex >= room + keeping else { return false }
        moveReaderIndex(to: readerIndex - room)
        withUnsafeMutableReadableBytes { bytes in
            var writer = ByteWriter(UnsafeMutableRawBufferPointer(rebasing: bytes[..<room]))
            body(&writer)
            precondition(!writer.overflowed && writer.count == room, "ByteWriter: the pieces did not fill the room they were sized for")
        }
        return true
    }
}
