import NIOCore

/// The Switchboard names of recently pushed Redis channels, so that a push on a channel seen
/// before costs a hash and a compare of its name's bytes: no string made, no copy kept.
///
/// Direct-mapped: a name goes into the slot its bytes hash to, replacing what was there. With
/// traffic on many channels (one message each on a hundred channels in a read) most pushes
/// find their name; a single-entry cache, as before, missed on nearly all of them and copied
/// each name it missed.
struct ChannelNameCache {
    /// Each slot's Redis channel, as bytes (a copy: a push's channel is a slice of a buffer that
    /// also holds its payload); empty for a free slot. Two arrays of plain values, not one of
    /// optional pairs, so that a lookup reads them where they lie, without copying an entry.
    private var keys: [ByteBuffer]
    /// Each slot's Switchboard channel.
    private var names: [String]
    private let mask: Int

    /// - Parameter slots: a power of two.
    init(slots: Int = 256) {
        precondition(slots > 0 && slots & (slots - 1) == 0, "slots must be a power of two")
        keys = Array(repeating: ByteBuffer(), count: slots)
        names = Array(repeating: "", count: slots)
        mask = slots - 1
    }

    /// The Switchboard channel of the pushed Redis channel `redisChannel` (`nil` when it is not
    /// one of ours), from the cache or from `naming`.
    mutating func name(of redisChannel: ByteBuffer, naming: RedisChannelNaming) -> String? {
        // No name is empty (`naming` says so), so an empty slot never matches.
        guard redisChannel.readableBytes > 0 else { return nil }
        let slot = Self.hash(redisChannel) & mask
        if keys[slot] == redisChannel { return names[slot] }
        guard let name = naming.channel(of: redisChannel) else { return nil }
        keys[slot] = ByteBuffer(bytes: redisChannel.readableBytesView)
        names[slot] = name
        return name
    }

    /// FNV-1a of the readable bytes: cheap on short names, and spreads names that differ only in
    /// their last characters (`room-17`, `room-18`).
    static func hash(_ bytes: ByteBuffer) -> Int {
        bytes.withUnsafeReadableBytes { raw in
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in raw {
                hash ^= UInt64(byte)
                hash &*= 0x0000_0100_0000_01b3
            }
            return Int(truncatingIfNeeded: hash ^ (hash >> 32))
        }
    }
}
