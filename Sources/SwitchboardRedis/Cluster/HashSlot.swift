/// A Redis Cluster hash slot (0…16383): CRC16 (XMODEM) of the key, or of its `{hash tag}`, modulo
/// 16384, exactly as Redis computes it (`CLUSTER KEYSLOT`).
public struct HashSlot: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The slot number, 0…16383.
    public let rawValue: UInt16

    /// Slots in a cluster.
    public static let count = 16384

    /// The slot `value` (nil outside 0…16383).
    public init?(_ value: Int) {
        guard value >= 0, value < Self.count else { return nil }
        rawValue = UInt16(value)
    }

    /// The slot of `key`'s bytes.
    public init(key: some Collection<UInt8>) {
        let hashed = Self.hashedPart(of: key)
        rawValue = Self.crc16(hashed) & UInt16(Self.count - 1)
    }

    /// The slot of `key`.
    public init(key: String) {
        self.init(key: Array(key.utf8))
    }

    public static func < (lhs: HashSlot, rhs: HashSlot) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { "\(rawValue)" }

    /// What Redis hashes: the bytes between the first `{` and the first `}` after it, when there
    /// are any; otherwise the whole key (`{}` hashes the whole key too).
    static func hashedPart<C: Collection<UInt8>>(of key: C) -> C.SubSequence {
        guard let open = key.firstIndex(of: UInt8(ascii: "{")) else { return key[...] }
        let start = key.index(after: open)
        guard let close = key[start...].firstIndex(of: UInt8(ascii: "}")), close != start else { return key[...] }
        return key[start..<close]
    }

    /// CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, as in Redis's `crc16.c`.
    static func crc16(_ bytes: some Sequence<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc = (crc << 8) ^ table[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)]
        }
        return crc
    }

    private static let table: [UInt16] = (0..<256).map { index in
        var crc = UInt16(index) << 8
        for _ in 0..<8 {
            crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1
        }
        return crc
    }
}
