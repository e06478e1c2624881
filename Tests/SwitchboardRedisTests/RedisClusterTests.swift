import Foundation
import NIOCore
import Switchboard
import SwitchboardProcesses
import SwitchboardRedis
import SwitchboardServer
import SwitchboardTesting
import Synchronization
import Testing

/// Nodes on a real Redis Cluster (3 primaries, 3 replicas, `redis-cli --cluster create` on
/// loopback): sharded pub/sub across nodes, channels spread over every shard, interop with a raw
/// SPUBLISH, history and calls across nodes, and a primary SIGKILLed mid-stream.
@Suite("Redis Cluster", .serialized)
struct RedisClusterTests {
    static let rules = [ChannelRule(match: "hist:*", historySize: 100_000, historyTTL: 600)]

    static func node(_ cluster: RedisCluster) async throws -> TestNode {
        var configuration = NodeConfiguration(port: 0)
        configuration.security.policy.channels = rules
        let node = try await TestNode.start(redisURL: cluster.url, configuration: configuration)
        #expect(await node.waitUntilReady(timeout: .seconds(20)))
        return node
    }

    /// One channel name `<stem><n>` per primary, in the primaries' order.
    static func channelPerShard(_ topology: RedisTopology, stem: String) -> [String] {
        topology.primaries.map { primary in
            (0...).lazy.map { "\(stem)\($0)" }.first { topology.primary(for: HashSlot(key: "switchboard:{\($0)}")) == primary }!
        }
    }

    @Test("two nodes: channels of every shard cross nodes; each primary holds some; a raw SPUBLISH reaches subscribers; history and calls across nodes")
    func acrossNodes() async throws {
        let cluster = try await RedisCluster.start()
        defer { cluster.stop() }
        let a = try await Self.node(cluster)
        let b = try await Self.node(cluster)
        let info = b.node.hub.serverInfo()
        #expect(info["broker"]?["mode"] == "cluster")
        #expect(info["broker"]?["shards"]?.arrayValue?.count == 3)

        let subscriber = try await RawWebSocket.connect(b.url)
        let channels = (0..<30).map { "c\($0)" }
        for channel in channels {
            #expect(try await subscriber.call(["id": .string(channel), "method": "subscribe", "payload": ["channel": .string(channel)]])["error"] == nil)
        }
        let publisher = try await RawWebSocket.connect(a.url)
        for channel in channels {
            #expect(try await publisher.call(["id": .string(channel), "method": "publish", "payload": ["channel": .string(channel), "data": ["on": .string(channel)]]])["error"] == nil)
        }
        var received = Set<String>()
        while received.count < channels.count {
            let message = try await subscriber.nextJSON(timeout: .seconds(5))
            #expect(message["data"]?["on"] == message["channel"])
            received.insert(message["channel"]?.stringValue ?? "")
        }
        #expect(received == Set(channels))

        // Every primary carries some of the channels (node B's sharded subscriptions).
        let (topology, _) = try await cluster.topology()
        for primary in topology.primaries {
            let server = try #require(cluster.server(port: primary.port))
            let held = try await server.command(["PUBSUB", "SHARDCHANNELS", "switchboard:{c*"])
            #expect((held.array?.count ?? 0) > 0, "primary \(primary) holds none of the 30 channels")
        }

        // Another program publishes with SPUBLISH <prefix>{<channel>} (redis-cli -c follows MOVED).
        let log = cluster.directory.appendingPathComponent("spublish.log").path
        let spublish = try ChildProcess("/usr/bin/redis-cli", ["-c", "-p", "\(cluster.servers[0].port)", "SPUBLISH", "switchboard:{c7}", #"{"event":"raw","data":[1,2]}"#], output: log)
        #expect(spublish.wait(timeout: .seconds(10)))
        #expect(try await subscriber.nextJSON(timeout: .seconds(5)) == ["channel": "c7", "event": "raw", "data": [1, 2]])

        // History written through node A is read, and recovered, through node B.
        for n in 1...3 {
            let reply = try await publisher.call(["id": .string("h\(n)"), "method": "publish", "payload": ["channel": "hist:x", "data": ["n": .number(JSONNumber(n))]]])
            #expect(reply["error"] == nil, "\(reply)")
        }
        let page = try await subscriber.call(["id": "h", "method": "history", "payload": ["channel": "hist:x"]])
        #expect(page["response"]?["publications"]?.arrayValue?.map { $0["data"]?["n"] } == [1, 2, 3])

        // A call from node A to a socket on node B goes through B's inbox on its shard.
        let (socket, id) = try await SocketCallsAcrossNodesTests.wsrpc(b)
        async let answered = SocketCallsAcrossNodesTests.answerMultiply(socket)
        let reply = try await HTTPProbe.request("POST", "/call", port: a.port, body: #"{"socket":"\#(id)","method":"multiply","params":{"x":6,"y":7},"timeout_ms":5000}"#)
        #expect(reply.status == 200)
        #expect(try JSONValue(parsing: reply.body) == ["result": 42])
        _ = try await answered
        await socket.close()
        await subscriber.close()
        await publisher.close()
        await a.stop()
        await b.stop()
    }
}
