import NIOCore
import NIOWebSocket
import Testing

@testable import SwitchboardServer
import SwitchboardWebSocket

@Suite("WebSocket frame reader (in place)")
struct WebSocketFrameReaderTests {
    /// A client frame: masked with `mask` unless it is nil.
    static func frame(_ payload: [UInt8], opcode: UInt8 = 0x1, fin: Bool = true, rsv: UInt8 = 0, mask: [UInt8]? = [1, 2, 3, 4]) -> [UInt8] {
        var bytes: [UInt8] = [(fin ? 0x80 : 0) | rsv | opcode]
        let maskBit: UInt8 = mask == nil ? 0 : 0x80
        if payload.count < 126 {
            bytes.append(maskBit | UInt8(payload.count))
        } else if payload.count <= 0xFFFF {
            bytes.append(maskBit | 126)
            bytes += [UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        } else {
            bytes.append(maskBit | 127)
            bytes += (0..<8).reversed().map { UInt8((payload.count >> ($0 * 8)) & 0xFF) }
        }
        if let mask {
            bytes += mask
            bytes += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        } else {
            bytes += payload
        }
        return bytes
    }

    static func frames(_ reader: inout WebSocketFrameReader) throws -> [WebSocketFrameReader.Frame] {
        var out: [WebSocketFrameReader.Frame] = []
        while let frame = try reader.next() { out.append(frame) }
        return out
    }

    @Test("several frames in one read: unmasked in place, each payload whole, with its bits")
    func burst() throws {
        var reader = WebSocketFrameReader(maxFrameSize: 1 << 20)
        let long = (0..<300).map { UInt8($0 & 0xFF) }
        let huge = [UInt8](repeating: 7, count: 70_000)
        reader.append(ByteBuffer(bytes: Self.frame(Array("hello".utf8)) + Self.frame(long, opcode: 0x2, fin: false, rsv: 0x40) + Self.frame([], opcode: 0x9) + Self.frame(huge, mask: [9, 8, 7, 6]) + Self.frame(Array("plain".utf8), mask: nil)))
        let frames = try Self.frames(&reader)
        #expect(frames.map { Array($0.payload.readableBytesView) } == [Array("hello".utf8), long, [], huge, Array("plain".utf8)])
        #expect(frames.map(\.opcode) == [.text, .binary, .ping, .text, .text])
        #expect(frames.map(\.fin) == [true, false, true, true, true])
        #expect(frames.map(\.rsv1) == [false, true, false, false, false])
        #expect(frames.map(\.masked) == [true, true, true, true, false])
    }

    @Test("a frame cut at every byte comes out whole once its last byte is read; earlier payloads stay intact")
    func everyCut() throws {
        let first = Self.frame(Array("first message".utf8))
        let second = Self.frame(Array(String(repeating: "x", count: 200).utf8), mask: [0xAA, 0xBB, 0xCC, 0xDD])
        let all = first + second
        for cut in 1..<all.count {
            var reader = WebSocketFrameReader(maxFrameSize: 1024)
            reader.append(ByteBuffer(bytes: all[..<cut]))
            var got = try Self.frames(&reader)
            reader.append(ByteBuffer(bytes: all[cut...]))
            got += try Self.frames(&reader)
            #expect(got.map { String(buffer: $0.payload) } == ["first message", String(repeating: "x", count: 200)], "cut at \(cut)")
        }
    }

    @Test("once every frame is handed out the reader keeps none of their bytes (a quiet socket holds no copy); a partial frame is kept")
    func releasesWhatWasRead() throws {
        // What the socket read (NIO keeps its read buffer for the next read: shared).
        let read = ByteBuffer(bytes: Self.frame(Array("subscribe".utf8)) + Array(Self.frame(Array("next".utf8)).prefix(3)))
        var reader = WebSocketFrameReader(maxFrameSize: 1024)
        reader.append(read)
        var first = try #require(try reader.next())
        #expect(try reader.next() == nil)
        // Still held (a partial frame waits): writing to the payload copies it first.
        let kept = first.payload.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        #expect(first.payload.withUnsafeMutableReadableBytes { UInt(bitPattern: $0.baseAddress) } != kept)
        reader.append(ByteBuffer(bytes: Array(Self.frame(Array("next".utf8)).dropFirst(3))))
        var second = try #require(try reader.next())
        #expect(String(buffer: second.payload) == "next")
        #expect(String(buffer: first.payload) == "subscribe")
        // Nothing left to read: the payload is the only holder of its bytes (written in place).
        let address = second.payload.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        #expect(second.payload.withUnsafeMutableReadableBytes { UInt(bitPattern: $0.baseAddress) } == address)
    }

    @Test("a frame over the size limit is refused before its payload comes; a 64-bit length with the top bit set is invalid")
    func limits() throws {
        var reader = WebSocketFrameReader(maxFrameSize: 100)
        reader.append(ByteBuffer(bytes: Array(Self.frame([UInt8](repeating: 1, count: 101)).prefix(8))))
        #expect(throws: WebSocketFrameReader.Failure.tooBig) { try reader.next() }
        var bad = WebSocketFrameReader(maxFrameSize: 100)
        bad.append(ByteBuffer(bytes: [0x81, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4]))
        #expect(throws: WebSocketFrameReader.Failure.invalidLength) { try bad.next() }
        bad.stop()
        bad.append(ByteBuffer(bytes: Self.frame([1])))
        #expect(try bad.next() == nil)
    }

    @Test("UTF-8: ASCII, multi-byte and invalid sequences")
    func utf8() {
        #expect(UTF8Validation.isValid(ByteBuffer(string: "plain ascii text, long enough for words")))
        #expect(UTF8Validation.isValid(ByteBuffer(string: "héllo wörld ✓ 𝄞")))
        #expect(UTF8Validation.isValid(ByteBuffer()))
        #expect(!UTF8Validation.isValid(ByteBuffer(bytes: Array("abcdefgh".utf8) + [0xC3])))
        #expect(!UTF8Validation.isValid(ByteBuffer(bytes: [0xED, 0xA0, 0x80])))  // a surrogate
        #expect(!UTF8Validation.isValid(ByteBuffer(bytes: [0xFF])))
    }
}
