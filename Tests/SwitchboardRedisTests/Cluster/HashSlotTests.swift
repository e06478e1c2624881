import Testing

@testable import SwitchboardRedis

@Suite("Hash slots (CRC16 with hash tags, as Redis computes them)")
struct HashSlotTests {
    /// Each slot as `CLUSTER KEYSLOT` gave it on redis-server 7.0.15.
    @Test("slots match CLUSTER KEYSLOT", arguments: [
        ("", 0), ("foo", 12182), ("bar", 5061), ("123456789", 12739),
        ("{user1000}.following", 3443), ("{user1000}.followers", 3443),
        ("foo{}{bar}", 8363), ("foo{{bar}}zap", 4015), ("foo{bar}{zap}", 5061),
        ("switchboard:{news}", 5161), ("news", 5161), ("switchboard:history:{news}", 5161), ("héllo", 11061),
    ])
    func keyslot(_ key: String, _ slot: Int) {
        #expect(HashSlot(key: key).rawValue == UInt16(slot))
    }

    @Test("the CRC16 check value of \"123456789\" is 0x31C3")
    func checkValue() {
        #expect(HashSlot.crc16(Array("123456789".utf8)) == 0x31C3)
    }

    @Test("a channel's Redis name hashes with its history, presence and state keys")
    func channelAndKeys() {
        let naming = RedisChannelNaming(prefix: "app:", sharded: true)
        let configuration = RedisBroker.Configuration(url: RedisURL(), channelPrefix: "app:", nodeID: "n1")
        for channel in ["news", "a{b}", "x}", "{", "chat:room-42", "ü"] {
            let slot = naming.slot(of: channel)
            let keys = configuration.historyKeys(channel)
            let presence = configuration.presenceKeys(channel)
            for key in [keys.stream, keys.epoch, presence.entries, presence.expiry, "app:state:{\(channel)}"] {
                #expect(HashSlot(key: key) == slot, "\(key)")
            }
        }
    }

    @Test("slot numbers outside 0…16383 are refused")
    func bounds() {
        #expect(HashSlot(16383) != nil)
        #expect(HashSlot(16384) == nil)
        #expect(HashSlot(-1) == nil)
    }
}
