import NIOCore

/// Encodes server frames (unmasked, RFC 6455 §5.2) around payloads that usually already have
/// room for the header in front, so a frame costs no copy of its payload.
package enum WebSocketFrameWriter {
    /// Bytes to leave in front of a payload so that any header fits in place.
    package static let headroom = 10

    package enum Opcode: UInt8 {
        case continuation = 0x0
        case text = 0x1
        case binary = 0x2
        case close = 0x8
        case ping = 0x9
        case pong = 0xA
    }

    /// An empty buffer with `headroom` bytes reserved in front of its readable bytes.
    package static func makePayloadBuffer(allocator: ByteBufferAllocator = ByteBufferAllocator(), capacity: Int = 256) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: capacity + headroom)
        buffer.moveWriterIndex(forwardBy: headroom)
        buffer.moveReaderIndex(forwardBy: headroom)
        return buffer
    }

    /// The header size for a payload of `length` bytes.
    package static func headerSize(for length: Int) -> Int {
        length < 126 ? 2 : (length <= 0xFFFF ? 4 : 10)
    }

    /// Turns `payload` into a complete frame (`fin` set), in place when it has headroom. The
    /// payload is consumed: when the caller hands over its only reference, the header is written
    /// into the same storage, with no copy.
    package static func frame(_ payload: consuming ByteBuffer, opcode: Opcode, compressed: Bool = false) -> ByteBuffer {
        let length = payload.readableBytes
        let size = headerSize(for: length)
        var frame: ByteBuffer
        if payload.readerIndex >= size {
            frame = payload
            frame.moveReaderIndex(to: frame.readerIndex - size)
        } else {
            frame = ByteBufferAllocator().buffer(capacity: length + size)
            frame.moveWriterIndex(forwardBy: size)
            var copy = payload
            frame.writeBuffer(&copy)
        }
        var index = frame.readerIndex
        let first: UInt8 = 0x80 | (compressed ? 0x40 : 0) | opcode.rawValue
        index += frame.setInteger(first, at: index)
        if length < 126 {
            frame.setInteger(UInt8(length), at: index)
        } else if length <= 0xFFFF {
            index += frame.setInteger(UInt8(126), at: index)
            frame.setInteger(UInt16(length), at: index)
        } else {
            index += frame.setInteger(UInt8(127), at: index)
            frame.setInteger(UInt64(length), at: index)
        }
        return frame
    }

    /// A close frame with a status code and a reason (cut to fit the 125-byte control limit).
    package static func closeFrame(code: UInt16, reason: String) -> ByteBuffer {
        var payload = makePayloadBuffer(capacity: 125)
        payload.writeInteger(code)
        var utf8 = Array(reason.utf8.prefix(123))
        while !utf8.isEmpty, String(validating: utf8, as: UTF8.self) == nil { utf8.removeLast() }
        payload.writeBytes(utf8)
        return frame(payload, opcode: .close)
    }
}
