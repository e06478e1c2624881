import NIOCore
import Testing

@testable import Switchboard

@Suite("ByteWriter")
struct ByteWriterTests {
    @Test("pieces go into the buffer in order, in one write")
    func pieces() {
        var buffer = ByteBuffer(string: "<")
        let data = ByteBuffer(string: #"{"n":1}"#)
        buffer.writeParts(room: 64) { writer in
            writer.write(#"{"channel":""#)
            writer.write(utf8: "héllo")
            writer.write(UInt8(ascii: "\""))
            writer.write(",")
            writer.write(decimal: 0)
            writer.write(decimal: -42)
            writer.write(decimal: Int.max)
            writer.write(data)
        }
        #expect(String(buffer: buffer) == #"<{"channel":"héllo",0-429223372036854775807{"n":1}"#)
        #expect(data.readableBytes == 7)
    }

    @Test("decimal lengths match what is written", arguments: [0, 9, 10, 99, 100, -1, -10, 123_456, Int.max, Int.min + 1])
    func decimalLength(_ value: Int) {
        var buffer = ByteBuffer()
        buffer.writeParts(room: ByteWriter.decimalLength(value)) { $0.write(decimal: value) }
        #expect(String(buffer: buffer) == String(value))
    }

    @Test("a piece past the room is not written and marks the writer")
    func overflow() {
        var storage = [UInt8](repeating: 0, count: 4)
        storage.withUnsafeMutableBytes { room in
            var writer = ByteWriter(room)
            writer.write("abc")
            let fitted = !writer.overflowed
            writer.write("de")
            let overflowed = writer.overflowed
            let count = writer.count
            #expect(fitted)
            #expect(overflowed)
            #expect(count == 3)
        }
        #expect(storage == Array("abc".utf8) + [0])
    }

    /// A buffer whose readable bytes start `headroom` bytes in.
    func buffer(_ text: String, headroom: Int) -> ByteBuffer {
        var buffer = ByteBuffer(repeating: UInt8(ascii: "."), count: headroom)
        buffer.writeString(text)
        buffer.moveReaderIndex(forwardBy: headroom)
        return buffer
    }

    @Test("pieces written in front of the readable bytes, in the headroom")
    func prepend() {
        var body = buffer("body", headroom: 12)
        let written = body.prependParts(room: 6, keeping: 4) { writer in
            writer.write("<")
            writer.write(decimal: 1234)
            writer.write(UInt8(ascii: ">"))
        }
        #expect(written)
        #expect(String(buffer: body) == "<1234>body")
        #expect(body.readerIndex == 6)
    }

    @Test("too little headroom: nothing written, the buffer as it was", arguments: [(6, 0), (4, 2)])
    func prependWithoutRoom(room: Int, keeping: Int) {
        var body = buffer("body", headroom: 5)
        let written = body.prependParts(room: room, keeping: keeping) { $0.write(utf8: String(repeating: "x", count: room)) }
        #expect(!written)
        #expect(String(buffer: body) == "body")
        #expect(body.readerIndex == 5)
    }

    @Test("a shared buffer is copied before it is written to; the other holder sees no change")
    func prependShared() {
        var body = buffer("body", headroom: 8)
        let other = body
        #expect(body.prependParts(room: 3) { $0.write("<a>") })
        #expect(String(buffer: body) == "<a>body")
        #expect(String(buffer: other) == "body")
        // Its headroom too.
        var front = other
        front.moveReaderIndex(to: 5)
        #expect(front.readString(length: 3) == "...")
    }
}
