import NIOCore

/// The data the benchmark publishes: `{"p": publisher, "s": sequence, "t": send time (ns), "x": padding}`,
/// and a cheap reader of delivered messages (the bench must not be the bottleneck: no JSON parse).
enum BenchMessage {
    struct Stamp {
        var publisher: Int
        var sequence: Int
        var sentAt: UInt64
    }

    /// The publish request text for one message.
    static func request(id: Int, channel: String, publisher: Int, sequence: Int, padding: String, method: String = "publish") -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(112 + channel.utf8.count + padding.utf8.count)
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

    private static let marker = Array(#""data":{"p":"#.utf8)

    /// Reads the stamp of a delivered message; `nil` for anything else.
    static func stamp(in text: ByteBuffer) -> Stamp? {
        text.withUnsafeReadableBytes { bytes -> Stamp? in
            let limit = min(bytes.count, 256)
            guard limit > marker.count else { return nil }
            var start = -1
            outer: for i in 0...(limit - marker.count) {
                for j in 0..<marker.count where bytes[i + j] != marker[j] { continue outer }
                start = i + marker.count
                break
            }
            guard start >= 0 else { return nil }
            var index = start
            func number() -> UInt64? {
                var value: UInt64 = 0
                var digits = 0
                while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
                    value = value &* 10 &+ UInt64(bytes[index] - 0x30)
                    index += 1
                    digits += 1
                }
                return digits > 0 ? value : nil
            }
            func skip(_ literal: String) -> Bool {
                for byte in literal.utf8 {
                    guard index < bytes.count, bytes[index] == byte else { return false }
                    index += 1
                }
                return true
            }
            guard let publisher = number(), skip(#","s":"#), let sequence = number(), skip(#","t":"#), let sentAt = number() else {
                return nil
            }
            return Stamp(publisher: Int(publisher), sequence: Int(sequence), sentAt: sentAt)
        }
    }
}
