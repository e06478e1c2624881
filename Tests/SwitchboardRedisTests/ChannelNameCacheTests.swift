import NIOCore
import Testing

@testable import SwitchboardRedis

/// The names of pushed Redis channels, from the cache or read again: a push always gets its
/// own channel's name, whatever the cache held before.
@Suite("Channel name cache")
struct ChannelNameCacheTests {
    let single = RedisChannelNaming(prefix: "sb:", sharded: false)
    let sharded = RedisChannelNaming(prefix: "sb:", sharded: true)

    func bytes(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    @Test("A channel's name, read once and then from the cache")
    func nameAgain() {
        var cache = ChannelNameCache()
        #expect(cache.name(of: bytes("sb:room"), naming: single) == "room")
        #expect(cache.name(of: bytes("sb:room"), naming: single) == "room")
        #expect(cache.name(of: bytes("sb:{room}"), naming: sharded) == "room")
    }

    @Test("Not one of ours: no name, and nothing kept that a later push could take")
    func foreignChannels() {
        var cache = ChannelNameCache()
        #expect(cache.name(of: bytes("other:room"), naming: single) == nil)
        #expect(cache.name(of: bytes("sb:"), naming: single) == nil)
        #expect(cache.name(of: bytes("sb:{room"), naming: sharded) == nil)
        #expect(cache.name(of: bytes("other:room"), naming: single) == nil)
        // An empty name is not one either, even where a free slot's key is empty too.
        #expect(cache.name(of: ByteBuffer(), naming: single) == nil)
    }

    /// One slot (every name replaces the one before it), and more names than slots.
    @Test("Names that share a slot replace each other and are never mixed up", arguments: [(1, 5, 3), (16, 100, 2)])
    func sharedSlots(slots: Int, channels: Int, rounds: Int) {
        var cache = ChannelNameCache(slots: slots)
        for round in 0..<rounds {
            for index in 0..<channels {
                #expect(cache.name(of: bytes("sb:room-\(index)"), naming: single) == "room-\(index)", "round \(round)")
            }
        }
    }

    @Test("A name read from a slice of a larger buffer is kept as a copy")
    func sliceOfAPush() {
        var cache = ChannelNameCache()
        var push = bytes("sb:news{\"data\":1}")
        let channel = push.readSlice(length: 7)!
        #expect(cache.name(of: channel, naming: single) == "news")
        // The push's buffer is reused for the next read.
        push.clear()
        push.writeString("sb:sport")
        #expect(cache.name(of: push, naming: single) == "sport")
        #expect(cache.name(of: bytes("sb:news"), naming: single) == "news")
    }

    @Test("The hash spreads names that differ only in their last character")
    func spread() {
        let slots = Set((0..<64).map { ChannelNameCache.hash(bytes("sb:room-\($0)")) & 255 })
        #expect(slots.count > 40)
    }
}
