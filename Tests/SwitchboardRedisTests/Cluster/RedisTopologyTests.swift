import NIOCore
import Testing

@testable import SwitchboardRedis

@Suite("Redis Cluster topology, redirections and URLs")
struct RedisTopologyTests {
    static func bulk(_ text: String) -> RESPValue { .bulkString(ByteBuffer(string: text)) }

    static func node(_ port: Int, role: String, health: String = "online", endpoint: String = "127.0.0.1") -> RESPValue {
        .array([
            bulk("id"), bulk("id\(port)"), bulk("port"), .integer(Int64(port)), bulk("ip"), bulk("127.0.0.1"),
            bulk("endpoint"), bulk(endpoint), bulk("role"), bulk(role), bulk("replication-offset"), .integer(1), bulk("health"), bulk(health),
        ])
    }

    static func shard(_ slots: [Int], _ nodes: [RESPValue]) -> RESPValue {
        .array([bulk("slots"), .array(slots.map { .integer(Int64($0)) }), bulk("nodes"), .array(nodes)])
    }

    @Test("CLUSTER SHARDS: primaries, replicas and slot ranges; a node without endpoint takes the host asked")
    func shards() throws {
        let reply = RESPValue.array([
            Self.shard([0, 5460], [Self.node(7000, role: "master"), Self.node(7003, role: "replica")]),
            Self.shard([5461, 10922], [Self.node(7001, role: "master", endpoint: "?"), Self.node(7004, role: "replica")]),
            Self.shard([10923, 16383], [Self.node(7005, role: "replica"), Self.node(7002, role: "master")]),
        ])
        let topology = try RedisTopology.parse(shardsReply: reply, defaultHost: "10.0.0.1")
        #expect(topology.coversAllSlots)
        #expect(topology.primaries.map(\.port) == [7000, 7001, 7002])
        #expect(topology.primary(for: HashSlot(0)!) == RedisNodeAddress(host: "127.0.0.1", port: 7000))
        #expect(topology.primary(for: HashSlot(5461)!) == RedisNodeAddress(host: "127.0.0.1", port: 7001))
        #expect(topology.primary(for: HashSlot(16383)!) == RedisNodeAddress(host: "127.0.0.1", port: 7002))
        #expect(topology.shards.first { $0.primary.port == 7002 }?.replicas == [RedisNodeAddress(host: "127.0.0.1", port: 7005)])
        #expect(topology.allNodes.count == 6)
    }

    @Test("a failed primary keeps its slots until a replica takes over; then the replica owns them")
    func failover() throws {
        let before = RESPValue.array([
            Self.shard([0, 16383], [Self.node(7000, role: "master", health: "failed"), Self.node(7003, role: "replica")]),
        ])
        let during = try RedisTopology.parse(shardsReply: before, defaultHost: "h")
        #expect(during.primary(for: HashSlot(42)!)?.port == 7000)
        let after = RESPValue.array([
            Self.shard([0, 16383], [Self.node(7000, role: "master", health: "failed"), Self.node(7003, role: "master")]),
        ])
        let promoted = try RedisTopology.parse(shardsReply: after, defaultHost: "h")
        #expect(promoted.primary(for: HashSlot(42)!)?.port == 7003)
        #expect(promoted != during)
    }

    @Test("CLUSTER SLOTS (before Redis 7) gives the same map")
    func slots() throws {
        func entry(_ low: Int, _ high: Int, _ ports: [Int]) -> RESPValue {
            .array([.integer(Int64(low)), .integer(Int64(high))] + ports.map { .array([Self.bulk("127.0.0.1"), .integer(Int64($0)), Self.bulk("id")]) })
        }
        let reply = RESPValue.array([entry(0, 100, [7000, 7003]), entry(101, 16383, [7001]), entry(50, 50, [7000])])
        let topology = try RedisTopology.parse(slotsReply: reply, defaultHost: "h")
        #expect(topology.coversAllSlots)
        #expect(topology.primary(for: HashSlot(100)!)?.port == 7000)
        #expect(topology.primary(for: HashSlot(101)!)?.port == 7001)
        #expect(topology.shards.count == 2)
    }

    @Test("a topology with a slot nobody owns is not complete; garbage is an error")
    func incomplete() throws {
        let topology = try RedisTopology.parse(shardsReply: .array([Self.shard([0, 100], [Self.node(7000, role: "master")])]), defaultHost: "h")
        #expect(!topology.coversAllSlots)
        #expect(topology.primary(for: HashSlot(101)!) == nil)
        #expect(throws: RedisTopology.ParseError.self) { try RedisTopology.parse(shardsReply: .integer(1), defaultHost: "h") }
        #expect(throws: RedisTopology.ParseError.self) {
            try RedisTopology.parse(shardsReply: .array([Self.shard([5, 1], [Self.node(7000, role: "master")])]), defaultHost: "h")
        }
    }

    @Test("a single Redis is one shard that owns every slot")
    func single() {
        let topology = RedisTopology.single(RedisNodeAddress(host: "h", port: 1))
        #expect(topology.coversAllSlots)
        #expect(topology.primaries == [RedisNodeAddress(host: "h", port: 1)])
    }

    @Test("MOVED and ASK replies are read; other errors are not redirections")
    func redirections() {
        let moved = RedisRedirection("MOVED 3999 127.0.0.1:6381")
        #expect(moved?.kind == .moved)
        #expect(moved?.slot == HashSlot(3999))
        #expect(moved?.host == "127.0.0.1")
        #expect(moved?.port == 6381)
        let ask = RedisRedirection("ASK 1 :7000")
        #expect(ask?.kind == .ask)
        #expect(ask?.host == nil)
        #expect(RedisRedirection("MOVED 3999 [::1]:7000")?.host == "::1")
        for text in ["ERR unknown", "MOVED x 127.0.0.1:1", "MOVED 16384 h:1", "MOVED 1 h", "ASK 1 h:0"] {
            #expect(RedisRedirection(text) == nil, "\(text)")
        }
    }

    @Test("cluster URLs name several nodes; one database; other schemes are refused")
    func urls() throws {
        let url = try RedisURL("redis+cluster://:pw@127.0.0.1:7000,127.0.0.1:7001,[::1]:7002")
        #expect(url.cluster)
        #expect(url.seeds == [RedisNodeAddress(host: "127.0.0.1", port: 7000), RedisNodeAddress(host: "127.0.0.1", port: 7001), RedisNodeAddress(host: "::1", port: 7002)])
        #expect(url.password == "pw")
        #expect(url.node(url.seeds[2]).port == 7002)
        #expect(url.node(url.seeds[2]).password == "pw")
        #expect(!url.node(url.seeds[2]).cluster)
        #expect(url.description == "redis+cluster://:***@127.0.0.1:7000,127.0.0.1:7001,[::1]:7002")
        let tls = try RedisURL("rediss+cluster://h:1")
        #expect(tls.tls && tls.cluster)
        for bad in ["redis+cluster://h:1/2", "redis://h:1,h:2", "redis+cluster://h:1,", "redis+cluster://"] {
            #expect(throws: RedisError.self, "\(bad)") { try RedisURL(bad) }
        }
    }

    @Test("sharded names: <prefix>{<channel>}, read back from a push's bytes")
    func naming() {
        let sharded = RedisChannelNaming(prefix: "sb:", sharded: true)
        #expect(sharded.redisName("news") == "sb:{news}")
        #expect(sharded.channel(of: "sb:{news}") == "news")
        #expect(sharded.channel(of: ByteBuffer(string: "sb:{a{b}}")) == "a{b}")
        #expect(sharded.channel(of: "sb:news") == nil)
        #expect(sharded.channel(of: ByteBuffer(string: "sb:{}")) == nil)
        #expect(sharded.publishCommand == "SPUBLISH")
        let single = RedisChannelNaming(prefix: "sb:", sharded: false)
        #expect(single.redisName("news") == "sb:news")
        #expect(single.channel(of: ByteBuffer(string: "sb:news")) == "news")
        #expect(single.subscribeCommand == "SUBSCRIBE")
    }

    @Test("sharded pushes (smessage, ssubscribe, sunsubscribe) and errors in subscribe mode")
    func shardedPushes() {
        var router = RedisReplyRouter<Int>()
        router.sentSubscription()
        let message = RESPValue.array([Self.bulk("smessage"), Self.bulk("c"), Self.bulk("p")])
        guard case .push(.message(ByteBuffer(string: "c"), ByteBuffer(string: "p"))) = router.received(message) else { Issue.record("smessage"); return }
        guard case .push(.subscribed("c", 1)) = router.received(.array([Self.bulk("ssubscribe"), Self.bulk("c"), .integer(1)])) else { Issue.record("ssubscribe"); return }
        guard case .push(.unsubscribed("c", 0)) = router.received(.array([Self.bulk("sunsubscribe"), Self.bulk("c"), .integer(0)])) else { Issue.record("sunsubscribe"); return }
        guard case .push(.error("MOVED 1 h:1")) = router.received(.error("MOVED 1 h:1")) else { Issue.record("error"); return }
    }
}
