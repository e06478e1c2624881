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
        let ready = try JSONValue(parsing: try await HTTPProbe.request("GET", "/readyz", port: b.port).body)
        #expect(ready["broker_shards"]?.arrayValue?.count == 3)
        #expect(ready["broker_shards"]?.arrayValue?.allSatisfy { $0["connected"] == true } == true)
        let metrics = try await HTTPProbe.request("GET", "/metrics", port: b.port).body
        #expect(metrics.components(separatedBy: "\n").filter { $0.hasPrefix("switchboard_redis_shard_connected{") && $0.hasSuffix(" 1.0") }.count == 3)

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

    /// A value shared by the test's tasks.
    final class Shared<Value: Sendable>: Sendable {
        private let mutex: Mutex<Value>
        init(_ value: Value) { mutex = Mutex(value) }
        func withLock<R: Sendable>(_ body: (inout sending Value) -> sending R) -> R { mutex.withLock(body) }
    }

    /// One publish: which, whether the node accepted it, when it was sent and how long it took.
    struct Sent: Sendable {
        let seq: Int
        let ok: Bool
        let at: ContinuousClock.Instant
        let took: Duration
    }

    /// One message received: its seq, and when.
    struct Arrival: Sendable {
        let seq: Int
        let at: ContinuousClock.Instant
    }

    /// Publishes `{"seq": n}` on `channel` from its own socket every `period` until cancelled.
    static func publishEvery(_ period: Duration, channel: String, on node: TestNode, into log: Shared<[String: [Sent]]>) async throws -> Task<Void, any Error> {
        let socket = try await RawWebSocket.connect(node.url)
        return Task {
            defer { Task { await socket.close() } }
            var seq = 0
            while !Task.isCancelled {
                let start = ContinuousClock.now
                let reply = try await socket.call(["id": .string("p\(seq)"), "method": "publish", "payload": ["channel": .string(channel), "data": ["seq": .number(JSONNumber(seq))]]])
                let sent = Sent(seq: seq, ok: reply["error"] == nil, at: start, took: .now - start)
                log.withLock { $0[channel, default: []].append(sent) }
                seq += 1
                try? await Task.sleep(until: start + period)
            }
        }
    }

    @Test("a primary SIGKILLed mid-stream: its channels resume once a replica takes over, the other shards' never stop, publishes meanwhile fail fast, its history channel recovers")
    func failover() async throws {
        let cluster = try await RedisCluster.start(nodeTimeout: .seconds(2))
        defer { cluster.stop() }
        let a = try await Self.node(cluster)
        let b = try await Self.node(cluster)
        let (topology, _) = try await cluster.topology()
        let live = Self.channelPerShard(topology, stem: "live")
        let history = Self.channelPerShard(topology, stem: "hist:f")[0]
        let victim = try #require(cluster.server(port: topology.primaries[0].port))
        let channels = live + [history]

        let subscriber = try await RawWebSocket.connect(b.url)
        for channel in channels {
            #expect(try await subscriber.call(["id": .string(channel), "method": "subscribe", "payload": ["channel": .string(channel)]])["error"] == nil)
        }
        let arrivals = Shared<[String: [Arrival]]>([:])
        let reader = Task {
            while !Task.isCancelled {
                guard let message = try? await subscriber.nextJSON(timeout: .seconds(60)) else { return }
                guard let channel = message["channel"]?.stringValue, let seq = message["data"]?["seq"]?.intValue else { continue }
                arrivals.withLock { $0[channel, default: []].append(Arrival(seq: seq, at: .now)) }
            }
        }
        let sent = Shared<[String: [Sent]]>([:])
        var publishers: [Task<Void, any Error>] = []
        for channel in channels { publishers.append(try await Self.publishEvery(.milliseconds(50), channel: channel, on: a, into: sent)) }

        // Everything flows, then the first shard's primary dies.
        #expect(await eventually(timeout: .seconds(10)) { arrivals.withLock { state in channels.allSatisfy { (state[$0]?.count ?? 0) >= 10 } } })
        let killed = ContinuousClock.now
        victim.kill9()
        // Its channel resumes: a message published after the kill arrives.
        let resumed = await eventually(timeout: .seconds(20)) {
            let firstAfter = sent.withLock { $0[live[0]]?.first { $0.at > killed && $0.ok }?.seq }
            guard let firstAfter else { return false }
            return arrivals.withLock { $0[live[0]]?.contains { $0.seq >= firstAfter } ?? false }
        }
        #expect(resumed, "the dead primary's channel did not resume within 20 s")
        try await Task.sleep(for: .seconds(1))
        for publisher in publishers { publisher.cancel() }
        for publisher in publishers { _ = try? await publisher.value }
        // Every accepted history publish arrives (those before the kill from the promoted
        // replica's stream), once and in order.
        let acked = sent.withLock { $0[history, default: []].filter(\.ok).map(\.seq) }
        _ = await eventually(timeout: .seconds(10)) { arrivals.withLock { Set($0[history, default: []].map(\.seq)).isSuperset(of: acked) } }
        reader.cancel()

        let (log, got) = (sent.withLock { $0 }, arrivals.withLock { $0 })
        let resume = got[live[0], default: []].first { $0.at > killed + .milliseconds(100) }.map { $0.at - killed }
        let failed = log[live[0], default: []].filter { !$0.ok && $0.at > killed }
        let slowest = log.values.joined().map(\.took).max() ?? .zero
        var gaps: [String: Duration] = [:]
        for channel in live.dropFirst() {
            let times = got[channel, default: []].map(\.at).filter { $0 > killed - Duration.milliseconds(500) }
            gaps[channel] = zip(times, times.dropFirst()).map { $1 - $0 }.max() ?? .zero
        }
        let historySeqs = got[history, default: []].map(\.seq)
        print("failover: resumed after \(resume.map { "\($0)" } ?? "never"); \(failed.count) publishes refused meanwhile; slowest publish \(slowest); longest gap on the other shards \(gaps.values.max() ?? .zero); history \(acked.count) accepted, \(Set(historySeqs).count) delivered")
        #expect(resume != nil && resume! < .seconds(10))
        #expect(!failed.isEmpty, "publishes to the dead shard were not refused")
        #expect(slowest < .seconds(4), "a publish hung for \(slowest)")
        for (channel, gap) in gaps { #expect(gap < .seconds(1), "\(channel): a gap of \(gap)") }
        #expect(Set(historySeqs).isSuperset(of: acked), "history lost: \(Set(acked).subtracting(historySeqs).sorted())")
        #expect(historySeqs == historySeqs.sorted() && Set(historySeqs).count == historySeqs.count, "history out of order or twice")
        // No node restarted: both are ready on the new topology and serve.
        #expect(await a.waitUntilReady())
        #expect(await b.waitUntilReady())
        #expect((b.node.hub.serverInfo()["broker"]?["topology_changes"]?.intValue ?? 0) >= 1)
        await subscriber.close()
        await a.stop()
        await b.stop()
    }

    @Test("a slot moved to another primary: its channel follows it (Redis's sunsubscribe, then the new topology), publishes that meet MOVED go where Redis says, other channels are not touched")
    func slotMoved() async throws {
        let cluster = try await RedisCluster.start()
        defer { cluster.stop() }
        let a = try await Self.node(cluster)
        let b = try await Self.node(cluster)
        let (topology, _) = try await cluster.topology()
        let channels = Self.channelPerShard(topology, stem: "mv")
        let (moving, staying) = (channels[0], channels[1])
        let slot = HashSlot(key: "switchboard:{\(moving)}")
        let source = try #require(cluster.server(port: topology.primaries[0].port))
        let target = try #require(cluster.server(port: topology.primaries[1].port))

        let subscriber = try await RawWebSocket.connect(b.url)
        for channel in [moving, staying] {
            #expect(try await subscriber.call(["id": .string(channel), "method": "subscribe", "payload": ["channel": .string(channel)]])["error"] == nil)
        }
        let publisher = try await RawWebSocket.connect(a.url)
        var seq = 0
        /// Publishes `{"seq": n}` on `channel`; returns whether the node accepted it.
        func publish(_ channel: String) async throws -> Bool {
            seq += 1
            return try await publisher.call(["id": .string("p\(seq)"), "method": "publish", "payload": ["channel": .string(channel), "data": ["seq": .number(JSONNumber(seq))]]])["error"] == nil
        }
        #expect(try await publish(moving))
        #expect(try await subscriber.nextJSON(timeout: .seconds(5))["channel"] == .string(moving))

        // Move the (keyless) slot from the source to the target primary, as redis-cli --cluster
        // reshard does, and tell every primary.
        let sourceID = try #require(try await source.command(["CLUSTER", "MYID"]).string)
        let targetID = try #require(try await target.command(["CLUSTER", "MYID"]).string)
        _ = try await target.command(["CLUSTER", "SETSLOT", "\(slot.rawValue)", "IMPORTING", sourceID])
        _ = try await source.command(["CLUSTER", "SETSLOT", "\(slot.rawValue)", "MIGRATING", targetID])
        for primary in topology.primaries {
            let server = try #require(cluster.server(port: primary.port))
            _ = try await server.command(["CLUSTER", "SETSLOT", "\(slot.rawValue)", "NODE", targetID])
        }

        // The first publish after the move meets MOVED on node A's link to the source: it is sent
        // again to the target, and accepted.
        #expect(try await publish(moving), "a publish after the move was refused")
        // Node B's subscription follows the slot: a message published now arrives.
        var arrived = false
        let deadline = ContinuousClock.now + .seconds(10)
        while !arrived, ContinuousClock.now < deadline {
            #expect(try await publish(moving))
            if let message = try? await subscriber.nextJSON(timeout: .milliseconds(300)), message["channel"] == .string(moving) { arrived = true }
        }
        #expect(arrived, "the moved channel's messages stopped")
        #expect(await eventually { (try? await target.command(["PUBSUB", "SHARDNUMSUB", "switchboard:{\(moving)}"]).array?.last?.integer) == 1 })
        #expect(try await source.command(["PUBSUB", "SHARDNUMSUB", "switchboard:{\(moving)}"]).array?.last?.integer == 0)
        // The other channel was never touched.
        #expect(try await publish(staying))
        var other: JSONValue?
        while other?["channel"] != .string(staying) { other = try await subscriber.nextJSON(timeout: .seconds(5)) }
        #expect(b.node.isReady && a.node.isReady)
        await subscriber.close()
        await publisher.close()
        await a.stop()
        await b.stop()
    }
}
