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
}
