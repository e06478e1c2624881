import NIOCore
import NIOWebSocket

/// Reads WebSocket frames (RFC 6455 §5.2) from a connection's bytes, in place: each read is kept
/// as it came (copied only when a frame spans reads), masked payloads are unmasked where they lie,
/// and a frame's payload is a slice of that buffer. Pure: the connection's handler checks what the
/// RFC asks of each frame (masking, reserved bits, control frames, fragments). The server reads its
/// clients' frames with it, the client library and the bench the server's.
package struct WebSocketFrameReader {
    /// One frame.
    package struct Frame {
        package var fin: Bool
        package var rsv1: Bool
        package var rsv2: Bool
        package var rsv3: Bool
        package var opcode: WebSocketOpcode
        /// Whether the client masked it (every client frame must be).
        package var masked: Bool
        /// The payload, unmasked.
        package var payload: ByteBuffer
    }

    /// A frame that cannot be read.
    package enum Failure: Error, Equatable {
        /// Its length is over `maxFrameSize`.
        case tooBig
        /// A 64-bit length with its top bit set (RFC 6455 §5.2).
        case invalidLength
    }

    /// The largest payload taken.
    package let maxFrameSize: Int
    private var buffer = ByteBuffer()
    /// Where the frames already unmasked end (a frame boundary at or after the reader index).
    private var unmaskedThrough = 0
    /// After `stop()`: bytes are dropped (the connection is closing on a bad frame).
    private var stopped = false

    package init(maxFrameSize: Int) {
        self.maxFrameSize = maxFrameSize
    }

    /// Bytes read from the socket.
    package mutating func append(_ bytes: ByteBuffer) {
        guard !stopped else { return }
        if buffer.readableBytes == 0 {
            buffer = bytes
            unmaskedThrough = buffer.readerIndex
        } else {
            // Part of a frame is waiting: the new bytes join it (read bytes are dropped first
            // once they are many, so a steady stream of split frames stays bounded).
            if buffer.readerIndex > 65536 {
                let dropped = buffer.readerIndex
                buffer.discardReadBytes()
                unmaskedThrough -= dropped
            }
            buffer.writeImmutableBuffer(bytes)
        }
        unmaskComplete()
    }

    /// Drops what is buffered and every byte from now on (after a frame that cannot be read).
    package mutating func stop() {
        stopped = true
        buffer = ByteBuffer()
    }

    /// The next whole frame, or `nil` until more bytes come.
    package mutating func next() throws(Failure) -> Frame? {
        let index = buffer.readerIndex
        let parsed: Result<Header?, Failure> = buffer.withUnsafeReadableBytes { bytes in
            do throws(Failure) { return .success(try Self.header(in: bytes, at: 0)) } catch { return .failure(error) }
        }
        guard let header = try parsed.get() else { return nil }
        guard header.length <= maxFrameSize else { throw .tooBig }
        let start = index + header.size
        guard buffer.writerIndex - start >= header.length else { return nil }
        if start + header.length > unmaskedThrough { unmaskComplete() }
        let payload = buffer.getSlice(at: start, length: header.length) ?? ByteBuffer()
        buffer.moveReaderIndex(to: start + header.length)
        // Nothing left: the buffer goes (the payload holds it while it is read). Kept, it would
        // hold its storage, a copy the unmasking made of the socket's read buffer, for as long
        // as the connection stays quiet: about 2 KiB per idle socket.
        if buffer.readableBytes == 0 { buffer = ByteBuffer() }
        return Frame(
            fin: header.first & 0x80 != 0, rsv1: header.first & 0x40 != 0, rsv2: header.first & 0x20 != 0, rsv3: header.first & 0x10 != 0,
            opcode: WebSocketOpcode(encodedWebSocketOpcode: header.first & 0x0F) ?? .continuation,
            masked: header.mask != nil, payload: payload
        )
    }

    /// Unmasks, in one pass, every whole frame not unmasked yet (before any of their payloads is
    /// handed out, so the buffer is not copied for each).
    private mutating func unmaskComplete() {
        let base = buffer.readerIndex
        let from = max(base, unmaskedThrough) - base
        guard from < buffer.readableBytes else { return }
        let maxFrameSize = self.maxFrameSize
        // Read first: the buffer is written (and copied, if shared) only when a whole frame is masked.
        let scan = buffer.withUnsafeReadableBytes { bytes in Self.wholeFrames(in: bytes, from: from, maxFrameSize: maxFrameSize) }
        guard scan.end > from else { return }
        if scan.masked {
            buffer.withUnsafeMutableReadableBytes { bytes in
                var offset = from
                while offset < scan.end, let header = try? Self.header(in: UnsafeRawBufferPointer(bytes), at: offset) {
                    if let mask = header.mask { WebSocketMask.apply(mask, to: bytes, from: offset + header.size, length: header.length) }
                    offset += header.size + header.length
                }
            }
        }
        unmaskedThrough = base + scan.end
    }

    /// Where the whole frames from `from` end, and whether any of them is masked.
    private static func wholeFrames(in bytes: UnsafeRawBufferPointer, from: Int, maxFrameSize: Int) -> (end: Int, masked: Bool) {
        var offset = from
        var masked = false
        while let header = try? header(in: bytes, at: offset), header.length <= maxFrameSize, bytes.count - (offset + header.size) >= header.length {
            masked = masked || (header.mask != nil && header.length > 0)
            offset += header.size + header.length
        }
        return (offset, masked)
    }

    /// A frame's header: its first byte, mask key (big-endian), payload length, and its own size.
    package struct Header {
        package var first: UInt8
        package var mask: UInt32?
        package var length: Int
        package var size: Int
    }

    /// The header at `offset` in `bytes`, or `nil` when it is not all there yet.
    package static func header(in bytes: UnsafeRawBufferPointer, at offset: Int) throws(Failure) -> Header? {
        let available = bytes.count - offset
        guard available >= 2 else { return nil }
        let first = bytes[offset]
        let second = bytes[offset + 1]
        var size = 2
        var length = Int(second & 0x7F)
        if length == 126 {
            guard available >= 4 else { return nil }
            length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            size = 4
        } else if length == 127 {
            guard available >= 10 else { return nil }
            var value: UInt64 = 0
            for i in 2..<10 { value = value << 8 | UInt64(bytes[offset + i]) }
            guard value <= UInt64(Int.max) else { throw .invalidLength }
            length = Int(value)
            size = 10
        }
        var mask: UInt32? = nil
        if second & 0x80 != 0 {
            guard available >= size + 4 else { return nil }
            mask = UInt32(bytes[offset + size]) << 24 | UInt32(bytes[offset + size + 1]) << 16 | UInt32(bytes[offset + size + 2]) << 8 | UInt32(bytes[offset + size + 3])
            size += 4
        }
        return Header(first: first, mask: mask, length: length, size: size)
    }
}
