import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// WebSocket masking (RFC 6455 §5.3): a payload XORed with a 4-byte key, and where client keys
/// come from.
package enum WebSocketMask {
    /// XORs `length` bytes at `from` with the key (big-endian: its first byte masks the payload's
    /// first byte), eight bytes at a time. Masking and unmasking are the same operation.
    package static func apply(_ key: UInt32, to bytes: UnsafeMutableRawBufferPointer, from: Int, length: Int) {
        // The key's bytes in memory order, twice: byte i of the payload is XORed with key[i % 4].
        let word32 = key.byteSwapped.littleEndian
        let word = UInt64(word32) | UInt64(word32) << 32
        var i = 0
        while i + 8 <= length {
            let value = bytes.loadUnaligned(fromByteOffset: from + i, as: UInt64.self)
            bytes.storeBytes(of: value ^ word, toByteOffset: from + i, as: UInt64.self)
            i += 8
        }
        while i < length {
            let shift = UInt32(24 - 8 * (i & 3))
            bytes[from + i] ^= UInt8(truncatingIfNeeded: key >> shift)
            i += 1
        }
    }

    /// A fresh key for a client frame, from the system's secure generator. Keys are drawn 512 at
    /// a time, so a busy client makes one `getrandom` call per 512 frames, not one per frame.
    package static func nextKey() -> UInt32 {
        pool.withLock { $0.next() }
    }

    private static let pool = Mutex(KeyPool())

    /// Keys drawn ahead from the system generator.
    private struct KeyPool: ~Copyable {
        private var keys = [UInt32](repeating: 0, count: 512)
        private var index = 512

        mutating func next() -> UInt32 {
            if index == keys.count {
                keys.withUnsafeMutableBytes(Self.fill)
                index = 0
            }
            defer { index += 1 }
            return keys[index]
        }

        /// Fills `bytes` from the system's secure generator in one call (glibc's and Darwin's
        /// `arc4random_buf` read `getrandom`; `SystemRandomNumberGenerator` makes a call per
        /// eight bytes).
        private static func fill(_ bytes: UnsafeMutableRawBufferPointer) {
            arc4random_buf(bytes.baseAddress!, bytes.count)
        }
    }
}
