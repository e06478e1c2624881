import NIOCore

/// Encodes frames (RFC 6455 §5.2) around payloads that usually already have room for the header
/// in front, so a frame costs no copy of its payload: a server's (unmasked) and a client's (masked
/// in place).
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

    /// Bytes to leave in front of a client payload so that any header and its mask key fit.
    package static let clientHeadroom = 14

    /// Turns `payload` into a complete frame (`fin` set), in place when it has headroom. The
    /// payload is consumed: when the caller hands over its only reference, the header is written
    /// into the same storage, with no copy.
    package static func frame(_ payload: consuming ByteBuffer, opcode: Opcode, compressed: Bool = false) -> ByteBuffer {
        frame(payload, first: 0x80 | (compressed ? 0x40 : 0) | opcode.rawValue, maskKey: nil)
    }

    /// A client's frame (RFC 6455 §5.3): `payload` masked with a fresh key, in place when it has
    /// `clientHeadroom` bytes in front and is not shared.
    package static func clientFrame(_ payload: consuming ByteBuffer, opcode: Opcode) -> ByteBuffer {
        frame(payload, first: 0x80 | opcode.rawValue, maskKey: WebSocketMask.nextKey())
    }

    /// A frame with the given first byte (FIN, reserved bits, opcode) around `payload`, masked
    /// with `maskKey` when there is one (big-endian: its first byte masks the payload's first).
    package static func frame(_ payload: consuming ByteBuffer, first: UInt8, maskKey: UInt32?) -> ByteBuffer {
        let length = payload.readableBytes
        let size = headerSize(for: length) + (maskKey == nil ? 0 : 4)
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
        let maskBit: UInt8 = maskKey == nil ? 0 : 0x80
        // The header (and the mask) in one access: each `setInteger` would check the buffer's
        // uniqueness and enter an exclusive access of its own.
        frame.withUnsafeMutableReadableBytes { bytes in
            bytes[0] = first
            var index = 2
            if length < 126 {
                bytes[1] = maskBit | UInt8(length)
            } else if length <= 0xFFFF {
                bytes[1] = maskBit | 126
                bytes.storeBytes(of: UInt16(length).bigEndian, toByteOffset: 2, as: UInt16.self)
                index = 4
            } else {
                bytes[1] = maskBit | 127
                bytes.storeBytes(of: UInt64(length).bigEndian, toByteOffset: 2, as: UInt64.self)
                index = 10
            }
            if let maskKey {
                bytes.storeBytes(of: maskKey.bigEndian, toByteOffset: index, as: UInt32.self)
                if length > 0 { WebSocketMask.apply(maskKey, to: bytes, from: size, length: length) }
            }
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
