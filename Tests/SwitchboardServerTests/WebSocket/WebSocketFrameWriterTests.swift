import NIOCore
import NIOWebSocket
import Testing

import SwitchboardWebSocket

@Suite("WebSocket frame writer")
struct WebSocketFrameWriterTests {
    /// Reads the one frame in `bytes`.
    static func read(_ bytes: ByteBuffer) throws -> WebSocketFrameReader.Frame {
        var reader = WebSocketFrameReader(maxFrameSize: 1 << 20)
        reader.append(bytes)
        let frame = try #require(try reader.next())
        #expect(try reader.next() == nil)
        return frame
    }

    @Test("a client frame is masked, in place when the payload has headroom, and reads back whole at every length form")
    func clientFrames() throws {
        for length in [0, 1, 7, 8, 125, 126, 65535, 65536] {
            let text = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            var payload = ByteBufferAllocator().buffer(capacity: length + WebSocketFrameWriter.clientHeadroom)
            payload.moveWriterIndex(forwardBy: WebSocketFrameWriter.clientHeadroom)
            payload.moveReaderIndex(forwardBy: WebSocketFrameWriter.clientHeadroom)
            payload.writeBytes(text)
            let start = payload.withUnsafeReadableBytes { $0.baseAddress }
            let frame = WebSocketFrameWriter.clientFrame(consume payload, opcode: .text)
            #expect(frame.withUnsafeReadableBytes { $0.baseAddress.map { $0 + (frame.readableBytes - length) } } == start, "in place at length \(length)")
            let onWire = Array(frame.readableBytesView)
            #expect(onWire[1] & 0x80 != 0, "mask bit set at length \(length)")
            if length >= 8 { #expect(Array(onWire.suffix(length)) != text, "payload masked at length \(length)") }
            let read = try Self.read(frame)
            #expect(read.masked && read.fin && read.opcode == .text)
            #expect(Array(read.payload.readableBytesView) == text, "length \(length)")
        }
    }

    @Test("a payload without headroom is copied, and the caller's bytes are left as they were")
    func copiesWithoutHeadroom() throws {
        let payload = ByteBuffer(string: "no room in front")
        let frame = WebSocketFrameWriter.clientFrame(payload, opcode: .binary)
        #expect(String(buffer: payload) == "no room in front")
        let read = try Self.read(frame)
        #expect(read.opcode == .binary && String(buffer: read.payload) == "no room in front")
    }

    @Test("client frames get different mask keys, past the pool's refill")
    func freshKeys() {
        var keys = Set<UInt32>()
        for _ in 0..<2000 { keys.insert(WebSocketMask.nextKey()) }
        // 2,000 draws from 2^32 keys: a repeat is possible but rare; a stuck or repeating pool is not.
        #expect(keys.count > 1990)
    }

    @Test("a server frame is unmasked, with its reserved bit for compression")
    func serverFrames() throws {
        var payload = WebSocketFrameWriter.makePayloadBuffer(capacity: 300)
        payload.writeRepeatingByte(0x61, count: 300)
        let read = try Self.read(WebSocketFrameWriter.frame(payload, opcode: .text, compressed: true))
        #expect(!read.masked && read.rsv1 && !read.rsv2 && read.fin)
        #expect(read.payload.readableBytes == 300)
    }
}
