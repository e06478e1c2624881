import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SwitchboardWebSocket

/// The data the benchmark publishes: `{"p": publisher, "s": sequence, "t": send time (ns), "x": padding}`,
/// and a cheap reader of delivered messages (the bench must not be the bottleneck: no JSON parse).
enum BenchMessage {
    struct Stamp {
        var publisher: Int
        var sequence: Int
        var sentAt: UInt64
    }

    /// The publish request text for one message, with room in front for its frame header (so
    /// the frame is made in place).
    static func request(id: Int, channel: String, publisher: Int, sequence: Int, padding: String, method: String = "publish") -> ByteBuffer {
        let headroom = WebSocketFrameWriter.clientHeadroom
        var buffer = ByteBufferAllocator().buffer(capacity: headroom + 112 + channel.utf8.count + padding.utf8.count)
        buffer.moveWriterIndex(forwardBy: headroom)
        buffer.moveReaderIndex(forwardBy: headroom)
        buffer.writeStaticString(#"{"id":""#)
        writeDecimal(UInt64(id), into: &buffer)
        buffer.writeStaticString(#"","method":""#)
        buffer.writeString(method)
        buffer.writeStaticString(#"","payload":{"channel":""#)
        buffer.writeString(channel)
        buffer.writeStaticString(#"","data":{"p":"#)
        writeDecimal(UInt64(publisher), into: &buffer)
        buffer.writeStaticString(#","s":"#)
        writeDecimal(UInt64(sequence), into: &buffer)
        buffer.writeStaticString(#","t":"#)
        writeDecimal(monotonicNanoseconds(), into: &buffer)
        buffer.writeStaticString(#","x":""#)
        buffer.writeString(padding)
        buffer.writeStaticString(#""}}}"#)
        return buffer
    }

    /// Writes an unsigned integer in decimal without making a string.
    private static func writeDecimal(_ value: UInt64, into buffer: inout ByteBuffer) {
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var rest = value
        withUnsafeMutableBytes(of: &digits) { raw in
            repeat {
                raw[19 - count] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
                count += 1
            } while rest > 0
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: raw[(20 - count)...]))
        }
    }

    private static let marker: StaticString = #""data":{"p":"#

    /// Reads the stamp of a delivered message; `nil` for anything else.
    static func stamp(in text: ByteBuffer) -> Stamp? {
        text.withUnsafeReadableBytes { bytes -> Stamp? in
            guard let base = bytes.baseAddress else { return nil }
            let length = marker.utf8CodeUnitCount
            let end = min(bytes.count, 256) - length
            var at = 0
            while at <= end, bytes[at] != 0x22 || memcmp(base + at, marker.utf8Start, length) != 0 { at += 1 }
            guard at <= end else { return nil }
            var index = at + length
            func number() -> UInt64? {
                var value: UInt64 = 0
                let start = index
                while index < bytes.count, bytes[index] &- 0x30 < 10 {
                    value = value &* 10 &+ UInt64(bytes[index] &- 0x30)
                    index += 1
                }
                return index > start ? value : nil
            }
            func skip(_ literal: StaticString) -> Bool {
                let count = literal.utf8CodeUnitCount
                guard bytes.count - index >= count, memcmp(base + index, literal.utf8Start, count) == 0 else { return false }
                index += count
                return true
            }
            guard let publisher = number(), skip(#","s":"#), let sequence = number(), skip(#","t":"#), let sentAt = number() else {
                return nil
            }
            return Stamp(publisher: Int(publisher), sequence: Int(sequence), sentAt: sentAt)
        }
    }
}
