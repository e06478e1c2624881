import NIOCore
import Synchronization

/// A message's place in its channel's history: a Redis stream id, `<milliseconds>-<sequence>`
/// (the local broker counts `0-<n>`). Clients treat it as an opaque string; the node compares
/// offsets as the pair of numbers.
public struct StreamOffset: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The first number (milliseconds for Redis).
    public var major: UInt64
    /// The second number (the sequence within the millisecond for Redis).
    public var minor: UInt64

    public init(major: UInt64, minor: UInt64) {
        self.major = major
        self.minor = minor
    }

    /// Reads `<major>-<minor>` (or a bare `<major>`, as Redis reads it); `nil` when it is not one.
    public init?(_ text: String) {
        // One pass over the bytes (every history message's offset is parsed on delivery).
        var numbers: (UInt64, UInt64) = (0, 0)
        var digits = (0, 0)
        var second = false
        var signed = false  // a leading "+", as UInt64(_:) takes it
        for byte in text.utf8 {
            if byte == UInt8(ascii: "-") {
                guard !second, digits.0 > 0 else { return nil }
                second = true
                signed = false
                continue
            }
            if byte == UInt8(ascii: "+") {
                guard !signed, (second ? digits.1 : digits.0) == 0 else { return nil }
                signed = true
                continue
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let value = second ? numbers.1 : numbers.0
            let (times, overflow) = value.multipliedReportingOverflow(by: 10)
            let (next, carry) = times.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow, !carry else { return nil }
            if second { numbers.1 = next; digits.1 += 1 } else { numbers.0 = next; digits.0 += 1 }
        }
        guard digits.0 > 0, !second || digits.1 > 0 else { return nil }
        (major, minor) = numbers
    }

    /// Before every real offset (`0-0`).
    public static let zero = StreamOffset(major: 0, minor: 0)

    public static func < (lhs: StreamOffset, rhs: StreamOffset) -> Bool {
        (lhs.major, lhs.minor) < (rhs.major, rhs.minor)
    }

    public var description: String { "\(major)-\(minor)" }
}

/// Where a client stands in a channel's history: the offset of the last message it got, and
/// the history's epoch (a new epoch means the history was lost and offsets before it are void).
public struct StreamPosition: Sendable, Hashable, CustomStringConvertible {
    public var offset: StreamOffset
    public var epoch: String

    public init(offset: StreamOffset, epoch: String) {
        self.offset = offset
        self.epoch = epoch
    }

    /// Reads `{"offset": "…", "epoch": "…"}` (the epoch may be left out: then any epoch is
    /// taken as the client's) or a bare offset string; `nil` when it is neither.
    public init?(json: JSONValue) {
        switch json {
        case .string(let text):
            guard let offset = StreamOffset(text) else { return nil }
            self.init(offset: offset, epoch: "")
        case .object(let object):
            guard let text = object["offset"]?.stringValue, let offset = StreamOffset(text) else { return nil }
            let epoch = object["epoch"]?.stringValue ?? ""
            if object["epoch"] != nil, object["epoch"] != .null, object["epoch"]?.stringValue == nil { return nil }
            self.init(offset: offset, epoch: epoch)
        default:
            return nil
        }
    }

    /// `{"offset": "…", "epoch": "…"}`.
    public var json: JSONObject {
        ["offset": .string(offset.description), "epoch": .string(epoch)]
    }

    public var description: String { "\(offset)@\(epoch)" }

    /// Writes `,"offset":"…","epoch":"…"`: the position's members, to close an object with.
    func writeMembers(into buffer: inout ByteBuffer) {
        var tail: [UInt8] = []
        tail.append(contentsOf: #","offset":"#.utf8)
        JSONWriter.append(offset.description, to: &tail)
        tail.append(contentsOf: #","epoch":"#.utf8)
        JSONWriter.append(epoch, to: &tail)
        buffer.writeBytes(tail)
    }
}

/// Makes history epochs: short strings, new each time a channel's history starts.
public enum HistoryEpoch {
    /// A process-wide sequence that starts at a random point: each call takes the next value.
    private static let sequence = Atomic<UInt64>(UInt64.random(in: 0...UInt64.max))

    /// Eleven letters and digits, different at each call, and unlikely to repeat another
    /// process's (a random start, then a counter scrambled by a bijective mix). Cheap enough for
    /// every publish: a history publish sends one as the epoch to use if the stream is new.
    public static func random() -> String {
        var value = sequence.add(1, ordering: .relaxed).newValue
        // splitmix64's finalizer: a bijection, so distinct counters give distinct epochs.
        value = (value ^ (value >> 30)) &* 0xbf58476d1ce4e5b9
        value = (value ^ (value >> 27)) &* 0x94d049bb133111eb
        value ^= value >> 31
        let alphabet: StaticString = "abcdefghijklmnopqrstuvwxyz0123456789"
        return String(unsafeUninitializedCapacity: 11) { buffer in
            alphabet.withUTF8Buffer { letters in
                for index in 0..<11 {
                    buffer[index] = letters[Int(value % 36)]
                    value /= 36
                }
            }
            return 11
        }
    }
}
