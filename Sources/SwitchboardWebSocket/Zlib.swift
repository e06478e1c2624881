import CZlib
import NIOCore

/// Raw DEFLATE (RFC 7692) of whole messages, with no context kept between messages, so one
/// compressor can serve every socket of a loop and a compressed frame can be shared by many.
package final class MessageDeflater {
    private let stream: UnsafeMutablePointer<z_stream>

    package init(level: Int32, windowBits: Int32 = 15) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = deflateInit2_(stream, level, Z_DEFLATED, -windowBits, 8, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK, "deflateInit2 failed: \(status)")
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Compresses `input` as one message into a buffer with frame headroom, without the final
    /// `00 00 ff ff`; `nil` if it would not get smaller.
    package func compress(_ input: ByteBuffer) -> ByteBuffer? {
        defer { deflateReset(stream) }
        var output = WebSocketFrameWriter.makePayloadBuffer(capacity: Int(deflateBound(stream, UInt(input.readableBytes))) + 16)
        let ok = input.withUnsafeReadableBytes { inputBytes -> Bool in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: inputBytes.bindMemory(to: Bytef.self).baseAddress)
            stream.pointee.avail_in = uInt(inputBytes.count)
            while true {
                if output.writableBytes < 64 { output.reserveCapacity(minimumWritableBytes: max(1024, output.capacity)) }
                let status = zlibStep(stream, into: &output, deflate).status
                if status != Z_OK && status != Z_BUF_ERROR { return false }
                if stream.pointee.avail_in == 0 && stream.pointee.avail_out > 0 { return true }
            }
        }
        guard ok, output.readableBytes >= 4 else { return nil }
        output.moveWriterIndex(to: output.writerIndex - 4)  // strip 00 00 ff ff
        guard output.readableBytes < input.readableBytes else { return nil }
        return output
    }
}

/// Inflates whole client messages (the client was told to keep no context), bounded in size.
package final class MessageInflater {
    package enum Failure: Error {
        case tooLarge
        case corrupt
    }

    private let stream: UnsafeMutablePointer<z_stream>

    package init() {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = inflateInit2_(stream, -15, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK, "inflateInit2 failed: \(status)")
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Inflates one message; fails with `.tooLarge` past `maxSize` bytes of output.
    package func decompress(_ input: ByteBuffer, maxSize: Int, allocator: ByteBufferAllocator) throws(Failure) -> ByteBuffer {
        defer { inflateReset(stream) }
        var data = input
        data.writeBytes([0x00, 0x00, 0xFF, 0xFF])
        var output = allocator.buffer(capacity: min(maxSize, max(256, input.readableBytes * 4)))
        let result = data.withUnsafeReadableBytes { inputBytes -> Failure? in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: inputBytes.bindMemory(to: Bytef.self).baseAddress)
            stream.pointee.avail_in = uInt(inputBytes.count)
            while true {
                if output.writableBytes == 0 {
                    if output.readableBytes >= maxSize { return .tooLarge }
                    output.reserveCapacity(minimumWritableBytes: min(max(4096, output.capacity), maxSize + 1 - output.readableBytes))
                }
                let (status, produced) = zlibStep(stream, into: &output, inflate)
                if output.readableBytes > maxSize { return .tooLarge }
                switch status {
                case Z_OK, Z_BUF_ERROR:
                    if stream.pointee.avail_in == 0 && stream.pointee.avail_out > 0 { return nil }
                    if status == Z_BUF_ERROR && produced == 0 && output.writableBytes > 0 { return .corrupt }
                case Z_STREAM_END:
                    return nil
                default:
                    return .corrupt
                }
            }
        }
        if let result { throw result }
        return output
    }
}

/// Runs one `deflate` or `inflate` call (`Z_SYNC_FLUSH`) into the free space of `output`, and
/// returns zlib's status and how many bytes it added to `output`.
private func zlibStep(
    _ stream: UnsafeMutablePointer<z_stream>, into output: inout ByteBuffer, _ call: (UnsafeMutablePointer<z_stream>?, Int32) -> Int32
) -> (status: Int32, produced: Int) {
    let (status, produced) = output.withUnsafeMutableWritableBytes { out -> (Int32, Int) in
        stream.pointee.next_out = out.bindMemory(to: Bytef.self).baseAddress
        stream.pointee.avail_out = uInt(out.count)
        let status = call(stream, Z_SYNC_FLUSH)
        return (status, out.count - Int(stream.pointee.avail_out))
    }
    output.moveWriterIndex(forwardBy: produced)
    return (status, produced)
}
