import Foundation
import NIOCore
import Switchboard
import SwitchboardClient
import SwitchboardProcesses
import SwitchboardRedis
import SwitchboardServer
import SwitchboardTesting
import Testing

/// History, recovery and presence across nodes on a real redis-server: clients that come back
/// on another node, a stream that is lost, a subscriber connection that is killed, a node that
/// dies.
@Suite("History and presence across nodes (Redis)")
struct HistoryAcrossNodesTests {
    static let rules = [
        ChannelRule(match: "hist:*", historySize: 100_000, historyTTL: 600),
        ChannelRule(match: "room:*", presence: true, joinLeave: true),
    ]

    static func node(_ redis: RedisServer, presenceTTL: TimeAmount = .seconds(30)) async throws -> TestNode {
        var configuration = NodeConfiguration(port: 0)
        configuration.security.policy.channels = rules
        let node = try await TestNode.start(redisURL: redis.url, configuration: configuration) { $0.presenceTTL = presenceTTL }
        #expect(await node.waitUntilReady())
        return node
    }

    /// Publishes `total` messages `{"seq": n}` on `channel` at about `perSecond`.
    static func publishSteadily(_ socket: RawWebSocket, channel: String, total: Int, perSecond: Int) -> Task<Void, any Error> {
        Task {
            let start = ContinuousClock.now
            for seq in 0..<total {
                try await socket.send(json: ["id": .string("p\(seq)"), "method": "publish", "payload": ["channel": .string(channel), "data": ["seq": .number(JSONNumber(seq))]]])
                if seq % 10 == 9 {
                    let due = start + .milliseconds((seq + 1) * 1000 / perSecond)
                    if due > .now { try await Task.sleep(until: due) }
                }
            }
        }
    }

    /// Reads `channel`'s messages until one has `seq == last`; returns the seqs in order.
    static func seqs(_ socket: RawWebSocket, channel: String, through last: Int, timeout: Duration = .seconds(20)) async throws -> [Int] {
        var seqs: [Int] = []
        let deadline = ContinuousClock.now + timeout
        while seqs.last != last, ContinuousClock.now < deadline {
            let value = try await socket.nextJSON(timeout: .seconds(5))
            if value["channel"] == .string(channel) { seqs.append(value["data"]?["seq"]?.intValue ?? -1) }
        }
        return seqs
    }

    @Test("history publishes name their script by SHA-1; after SCRIPT FLUSH the next one loads it again and nothing is lost")
    func scriptCacheFlushed() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        let node = try await Self.node(redis)
        let socket = try await RawWebSocket.connect(node.url)
        _ = try await socket.call(["id": "s", "method": "subscribe", "payload": ["channel": "hist:flush"]])
        #expect(try await socket.call(["id": "1", "method": "publish", "payload": ["channel": "hist:flush", "data": ["n": 1]]])["response"] != nil)
        #expect(try await redis.command(["SCRIPT", "FLUSH"]) == .simpleString("OK"))
        #expect(try await socket.call(["id": "2", "method": "publish", "payload": ["channel": "hist:flush", "data": ["n": 2]]])["response"] != nil)
        #expect(try await socket.call(["id": "3", "method": "publish", "payload": ["channel": "hist:flush", "data": ["n": 3]]])["response"] != nil)
        var data: [JSONValue] = []
        while data.count < 3 { data.append(try #require(try await socket.nextJSON()["data"]?["n"])) }
        #expect(data == [1, 2, 3])
        let page = try await socket.call(["id": "h", "method": "history", "payload": ["channel": "hist:flush"]])
        #expect(page["response"]?["publications"]?.arrayValue?.map { $0["data"]?["n"] } == [1, 2, 3])
        await socket.close()
        await node.stop()
    }

    @Test("a publish on a history channel is answered with the offset and epoch its subscribers on another node get; with state, the state is kept too")
    func publishReplyPosition() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        var configuration = NodeConfiguration(port: 0)
        configuration.security.policy.channels = [ChannelRule(match: "kept:*", historySize: 100, historyTTL: 600, state: true)] + Self.rules
        let a = try await TestNode.start(redisURL: redis.url, configuration: configuration)
        let b = try await TestNode.start(redisURL: redis.url, configuration: configuration)
        #expect(await a.waitUntilReady())
        #expect(await b.waitUntilReady())
        let subscriber = try await RawWebSocket.connect(a.url)
        let publisher = try await RawWebSocket.connect(b.url)
        for channel in ["hist:where", "kept:where"] {
            _ = try await subscriber.call(["id": .string("s-\(channel)"), "method": "subscribe", "payload": ["channel": .string(channel)]])
            var replies: [JSONValue] = []
            for n in 0..<3 {
                let payload: JSONValue = ["channel": .string(channel), "data": ["n": .number(JSONNumber(n))], "state": .bool(channel.hasPrefix("kept:"))]
                replies.append(try #require(try await publisher.call(["id": .string("p\(n)"), "method": "publish", "payload": payload])["response"]))
            }
            var delivered: [JSONValue] = []
            while delivered.count < 3 {
                let message = try await subscriber.nextJSON()
                if message["channel"] == .string(channel) { delivered.append(message) }
            }
            #expect(replies.allSatisfy { $0["offset"]?.stringValue != nil && $0["epoch"]?.stringValue != nil })
            #expect(replies.map { $0["offset"] } == delivered.map { $0["offset"] })
            #expect(replies.map { $0["epoch"] } == delivered.map { $0["epoch"] })
        }
        // The state of a channel with history and state: the last message, sent to a new subscriber.
        let late = try await RawWebSocket.connect(b.url)
        _ = try await late.call(["id": "late", "method": "subscribe", "payload": ["channel": "kept:where"]])
        #expect(try await late.nextJSON()["data"] == ["n": 2])
        let page = try await late.call(["id": "h", "method": "history", "payload": ["channel": "kept:where"]])
        #expect(page["response"]?["publications"]?.arrayValue?.map { $0["data"]?["n"] } == [0, 1, 2])
        for socket in [subscriber, publisher, late] { await socket.close() }
        await a.stop()
        await b.stop()
    }

    @Test("a client away for 5 s while 1,000 messages/s are published comes back on another node with its last offset: every message once, in order")
    func recoveryOnAnotherNode() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        let a = try await Self.node(redis)
        let b = try await Self.node(redis)
        let c = try await Self.node(redis)
        let channel = "hist:steady"
        let total = 7000
        let publisher = try await RawWebSocket.connect(c.url)
        let first = try await RawWebSocket.connect(a.url)
        _ = try await first.call(["id": "s", "method": "subscribe", "payload": ["channel": .string(channel)]])
        let publishing = Self.publishSteadily(publisher, channel: channel, total: total, perSecond: 1000)
        var last: JSONValue = nil
        var before: [Int] = []
        while before.count < 500 {
            let value = try await first.nextJSON()
            guard value["channel"] == .string(channel) else { continue }
            last = value
            before.append(value["data"]?["seq"]?.intValue ?? -1)
        }
        await first.close()
        try await Task.sleep(for: .seconds(5))  // away while about 5,000 messages go by

        let second = try await RawWebSocket.connect(b.url)
        let reply = try await second.call(["id": "r", "method": "subscribe", "payload": ["channel": .string(channel), "since": ["offset": last["offset"]!, "epoch": last["epoch"]!]]], timeout: .seconds(10))
        #expect(reply["response"]?["recovered"] == true, "\(reply)")
        let after = try await Self.seqs(second, channel: channel, through: total - 1)
        try await publishing.value
        #expect(before == Array(0..<500))
        #expect(after.count == total - 500)
        #expect(after == Array(500..<total), "first differences: \(zip(after, 500..<total).filter { $0 != $1 }.prefix(5))")
        for socket in [publisher, second] { await socket.close() }
        for node in [a, b, c] { await node.stop() }
    }

    @Test("a node drained (1001) under a publish load: its client resumes on another node from its last offset without a gap")
    func recoveryAfterDrain() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        let a = try await Self.node(redis)
        let b = try await Self.node(redis)
        let channel = "hist:drain"
        let total = 3000
        let publisher = try await RawWebSocket.connect(b.url)
        let client = try await RawWebSocket.connect(a.url)
        _ = try await client.call(["id": "s", "method": "subscribe", "payload": ["channel": .string(channel)]])
        let publishing = Self.publishSteadily(publisher, channel: channel, total: total, perSecond: 1000)
        var last: JSONValue = nil
        var seqs: [Int] = []
        readLoop: while true {
            switch try await client.next(timeout: .seconds(10)) {
            case .text(let text, _):
                let value = try JSONValue(parsing: text)
                if value["channel"] == .string(channel) {
                    last = value
                    seqs.append(value["data"]?["seq"]?.intValue ?? -1)
                    if seqs.count == 300 { Task { await a.stop() } }  // drain A while messages flow
                }
            case .closed(let code, _):
                #expect(code == 1001)
                break readLoop
            default:
                continue
            }
        }
        let moved = try await RawWebSocket.connect(b.url)
        let reply = try await moved.call(["id": "r", "method": "subscribe", "payload": ["channel": .string(channel), "since": ["offset": last["offset"]!, "epoch": last["epoch"]!]]], timeout: .seconds(10))
        #expect(reply["response"]?["recovered"] == true)
        let before = seqs
        let after = try await Self.seqs(moved, channel: channel, through: total - 1)
        seqs += after
        try await publishing.value
        #expect(
            seqs == Array(0..<total),
            "on A: \(before.count) messages, the last ones \(before.suffix(5)) (offset \(last["offset"] ?? nil)); on B after recovery (\(reply)): first \(after.prefix(5))"
        )
        for socket in [publisher, moved] { await socket.close() }
        await b.stop()
    }

    @Test("the Swift client recovers by itself: its node drained under load, it reconnects through the balancer to another node and misses nothing", .timeLimit(.minutes(1)))
    func swiftClientRecovers() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        let a = try await Self.node(redis)
        let b = try await Self.node(redis)
        let balancer = try await TCPProxy.start(to: a.port)
        defer { balancer.close() }
        let channel = "hist:client"
        let total = 2000
        let client = try await SwitchboardClient.connect(to: "ws://127.0.0.1:\(balancer.port)/stream", configuration: ClientConfiguration(reconnect: true))
        let messages = try await client.subscribe(channel: channel)
        let publisher = try await RawWebSocket.connect(b.url)
        let publishing = Self.publishSteadily(publisher, channel: channel, total: total, perSecond: 1000)
        var seqs: [Int] = []
        for try await message in messages {
            seqs.append(message.data["seq"]?.intValue ?? -1)
            #expect(message.position != nil)
            if seqs.count == 300 {
                balancer.retarget(to: b.port)
                Task { await a.stop() }
            }
            if seqs.last == total - 1 { break }
        }
        try await publishing.value
        #expect(client.lastCloseCode == 1001)
        #expect(seqs == Array(0..<total), "first differences: \(zip(seqs, 0..<total).filter { $0 != $1 }.prefix(5))")
        await client.close()
        await publisher.close()
        await b.stop()
    }

    @Test("a lost stream starts a new epoch: recovery from the old one says recovered: false and why")
    func epochChange() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        let node = try await Self.node(redis)
        let socket = try await RawWebSocket.connect(node.url)
        _ = try await socket.call(["id": "s", "method": "subscribe", "payload": ["channel": "hist:lost"]])
        _ = try await socket.call(["id": "p", "method": "publish", "payload": ["channel": "hist:lost", "data": ["n": 1]]])
        var message: JSONValue = nil
        while message["channel"] != "hist:lost" { message = try await socket.nextJSON() }
        let oldEpoch = try #require(message["epoch"]?.stringValue)
        _ = try await redis.command(["DEL", "switchboard:history:{hist:lost}"])
        _ = try await socket.call(["id": "p2", "method": "publish", "payload": ["channel": "hist:lost", "data": ["n": 2]]])
        message = nil
        while message["channel"] != "hist:lost" { message = try await socket.nextJSON() }
        #expect(message["epoch"]?.stringValue != oldEpoch)

        let back = try await RawWebSocket.connect(node.url)
        let reply = try await back.call(["id": "r", "method": "subscribe", "payload": ["channel": "hist:lost", "since": ["offset": message["offset"]!, "epoch": .string(oldEpoch)]]])
        #expect(reply["response"]?["recovered"] == false)
        #expect(reply["response"]?["reason"]?.stringValue?.contains("epoch") == true)
        #expect(reply["response"]?["epoch"] == message["epoch"])
        await socket.close()
        await back.close()
        await node.stop()
    }

    @Test("the node's subscriber connection killed (CLIENT KILL TYPE pubsub) while a history channel is published to: its sockets lose nothing")
    func subscriberConnectionKilled() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        let a = try await Self.node(redis)
        let b = try await Self.node(redis)
        let channel = "hist:blip"
        let total = 3000
        let subscriber = try await RawWebSocket.connect(a.url)
        _ = try await subscriber.call(["id": "s", "method": "subscribe", "payload": ["channel": .string(channel)]])
        let publisher = try await RawWebSocket.connect(b.url)
        let publishing = Self.publishSteadily(publisher, channel: channel, total: total, perSecond: 1000)
        var seqs: [Int] = []
        while seqs.count < 500 {
            let value = try await subscriber.nextJSON()
            if value["channel"] == .string(channel) { seqs.append(value["data"]?["seq"]?.intValue ?? -1) }
        }
        let killed = try await redis.command(["CLIENT", "KILL", "TYPE", "pubsub"])
        #expect((killed.integer ?? 0) >= 1)
        seqs += try await Self.seqs(subscriber, channel: channel, through: total - 1)
        try await publishing.value
        #expect(seqs == Array(0..<total), "first differences: \(zip(seqs, 0..<total).filter { $0 != $1 }.prefix(5)); count \(seqs.count), 500 at \(String(describing: seqs.firstIndex(of: 500))), sorted: \(seqs.sorted() == Array(0..<total))")
        for socket in [publisher, subscriber] { await socket.close() }
        await a.stop()
        await b.stop()
    }

    @Test("presence lists the sockets of three nodes, and forgets a SIGKILLed node's within its presence TTL")
    func presenceAcrossNodes() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        let a = try await Self.node(redis, presenceTTL: .seconds(2))
        let b = try await Self.node(redis, presenceTTL: .seconds(2))
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-presence-\(UUID()).json")
        try Data(#"{"channels": [{"match": "room:*", "presence": true, "join_leave": true}]}"#.utf8).write(to: config)
        defer { try? FileManager.default.removeItem(at: config) }
        let port = try PortReservation.freePortOutsideEphemeralRange()
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("switchboard").path
        let c = try ChildProcess(executable, [
            "serve", "--port", "\(port)", "--redis", redis.url, "--node-id", "doomed", "--config", config.path,
            "--presence-ttl", "2", "--log-level", "error",
        ])
        defer { c.stop(grace: .milliseconds(100)) }
        #expect(await eventually { (try? await HTTPProbe.request("GET", "/readyz", port: port).status) == 200 })

        var sockets: [RawWebSocket] = []
        for url in [a.url, b.url, "ws://127.0.0.1:\(port)/stream"] {
            let socket = try await RawWebSocket.connect(url)
            _ = try await socket.call(["id": "s", "method": "subscribe", "payload": ["channel": "room:lobby"]])
            sockets.append(socket)
        }
        let list = try await sockets[0].call(["id": "p", "method": "presence", "payload": ["channel": "room:lobby"]])
        let nodes = list["response"]?["presence"]?.arrayValue?.compactMap { $0["node"]?.stringValue }.sorted()
        #expect(nodes == [a.node.hub.nodeID, b.node.hub.nodeID, "doomed"].sorted())
        #expect(try await sockets[1].call(["id": "p", "method": "presence_stats", "payload": ["channel": "room:lobby"]])["response"]?["sockets"] == 3)

        c.signal(SIGKILL)
        let killedAt = ContinuousClock.now
        #expect(await eventually(timeout: .seconds(20)) {
            let now = try? await sockets[0].call(["id": "p", "method": "presence", "payload": ["channel": "room:lobby"]])
            return now?["response"]?["presence"]?.arrayValue?.count == 2
        })
        let forgotten = ContinuousClock.now - killedAt
        // The TTL, plus the refresh pass that finds it stale and the poll (slack for a loaded machine).
        #expect(forgotten < .seconds(7), "the dead node's entry went after \(forgotten); its TTL is 2 s")
        for socket in sockets.prefix(2) { await socket.close() }
        await a.stop()
        await b.stop()
    }
}
