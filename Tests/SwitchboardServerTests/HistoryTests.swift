import NIOCore
import NIOPosix
import Switchboard
import SwitchboardServer
import SwitchboardTesting
import Testing

/// History, recovery and presence on one node with the local broker (what the defaults and the
/// unit tests use); the Redis suite repeats the cluster-wide cases.
@Suite("History, recovery and presence (local broker)")
struct HistoryTests {
    /// `hist:*` keeps 10,000 messages (more than any test publishes: recovery never falls out of the window by timing), `small:*` 5, `room:*` has presence with join/leave events.
    static func node() async throws -> TestNode {
        var configuration = NodeConfiguration(port: 0)
        configuration.security.policy.channels = [
            ChannelRule(match: "hist:*", historySize: 10_000, historyTTL: 600),
            ChannelRule(match: "small:*", historySize: 5, historyTTL: 600),
            ChannelRule(match: "room:*", presence: true, joinLeave: true),
        ]
        return try await TestNode.start(configuration: configuration)
    }

    static func publish(_ socket: RawWebSocket, _ channel: String, _ seq: Int) async throws -> JSONValue {
        try await socket.call(["id": .string("p\(seq)"), "method": "publish", "payload": ["channel": .string(channel), "data": ["seq": .number(JSONNumber(seq))]]])
    }

    /// The next channel message on `channel` (skipping replies and other channels).
    static func nextMessage(_ socket: RawWebSocket, on channel: String) async throws -> JSONValue {
        while true {
            let value = try await socket.nextJSON()
            if value["channel"] == .string(channel) { return value }
        }
    }

    @Test("history channels' messages carry offset and epoch, and so does their publish reply; history reads the window by limit, since and reverse")
    func historyReads() async throws {
        let node = try await Self.node()
        let socket = try await RawWebSocket.connect(node.url)
        let subscribed = try await socket.call(["id": "s", "method": "subscribe", "payload": ["channel": "hist:a"]])
        #expect(subscribed["response"]?["offset"] == .null)
        #expect(subscribed["response"]?["epoch"] == .null)
        var replies: [JSONValue] = []
        for seq in 0..<8 { replies.append(try #require(try await Self.publish(socket, "hist:a", seq)["response"])) }
        var messages: [JSONValue] = []
        for _ in 0..<8 { messages.append(try await Self.nextMessage(socket, on: "hist:a")) }
        let epoch = try #require(messages[0]["epoch"]?.stringValue)
        #expect(messages.allSatisfy { $0["epoch"]?.stringValue == epoch && $0["offset"]?.stringValue != nil })
        #expect(Set(messages.compactMap { $0["offset"]?.stringValue }).count == 8)
        // The publisher learns where each message was written: what its subscribers got with it.
        #expect(replies.map { $0["offset"] } == messages.map { $0["offset"] })
        #expect(replies.allSatisfy { $0["epoch"]?.stringValue == epoch })

        let all = try await socket.call(["id": "h", "method": "history", "payload": ["channel": "hist:a"]])["response"]
        #expect(all?["publications"]?.arrayValue?.compactMap { $0["data"]?["seq"]?.intValue } == Array(0..<8))
        #expect(all?["epoch"]?.stringValue == epoch)
        #expect(all?["offset"] == messages[7]["offset"])
        let since = try await socket.call(["id": "h2", "method": "history", "payload": ["channel": "hist:a", "since": ["offset": messages[4]["offset"]!, "epoch": .string(epoch)], "limit": 2]])
        #expect(since["response"]?["publications"]?.arrayValue?.compactMap { $0["data"]?["seq"]?.intValue } == [5, 6])
        let newest = try await socket.call(["id": "h3", "method": "history", "payload": ["channel": "hist:a", "limit": 3, "reverse": true]])
        #expect(newest["response"]?["publications"]?.arrayValue?.compactMap { $0["data"]?["seq"]?.intValue } == [7, 6, 5])
        #expect(newest["response"]?["publications"]?.arrayValue?.first?["offset"] == messages[7]["offset"])

        // A channel without history says so; bad parameters are named.
        let plain = try await socket.call(["id": "h4", "method": "history", "payload": ["channel": "plain"]])
        #expect(plain["error"]?["errors"]?["channel"]?.stringValue?.hasPrefix("No history") == true)
        let bad = try await socket.call(["id": "h5", "method": "history", "payload": ["channel": "hist:a", "limit": 5000, "since": 3]])
        #expect(bad["error"]?["errors"]?["limit"] == "must be an integer from 0 to 1000")
        #expect(bad["error"]?["errors"]?["since"] != nil)
        // A plain channel's messages carry no offset.
        _ = try await socket.call(["id": "s2", "method": "subscribe", "payload": ["channel": "plain"]])
        let plainReply = try await Self.publish(socket, "plain", 1)
        #expect(plainReply["response"]?.objectValue?.keys.sorted() == ["channel", "data", "event"])
        let plainMessage = try await Self.nextMessage(socket, on: "plain")
        #expect(plainMessage["offset"] == nil)
        await socket.close()
        await node.stop()
    }

    @Test("a client that reconnects with its last offset gets every message it missed once, in order, then the live ones, under a steady publish load")
    func recoveryUnderLoad() async throws {
        let node = try await Self.node()
        let publisher = try await RawWebSocket.connect(node.url)
        let total = 3000
        let publishing = Task {
            for seq in 0..<total {
                try await publisher.send(json: ["id": .string("p\(seq)"), "method": "publish", "payload": ["channel": "hist:load", "data": ["seq": .number(JSONNumber(seq))]]])
                if seq % 100 == 99 { try await Task.sleep(for: .milliseconds(5)) }
            }
        }
        let first = try await RawWebSocket.connect(node.url)
        _ = try await first.call(["id": "s", "method": "subscribe", "payload": ["channel": "hist:load"]])
        var last: JSONValue = nil
        var seen: [Int] = []
        while seen.count < 200 {
            last = try await Self.nextMessage(first, on: "hist:load")
            seen.append(last["data"]?["seq"]?.intValue ?? -1)
        }
        await first.close()
        try await Task.sleep(for: .milliseconds(100))  // the publisher goes on meanwhile: this is the gap to recover

        let second = try await RawWebSocket.connect(node.url)
        let reply = try await second.call(["id": "r", "method": "subscribe", "payload": ["channel": "hist:load", "since": ["offset": last["offset"]!, "epoch": last["epoch"]!]]])
        #expect(reply["response"]?["recovered"] == true)
        var after: [Int] = []
        let lastSeen = seen.last!
        while (after.last ?? lastSeen) < total - 1 {
            after.append(try await Self.nextMessage(second, on: "hist:load")["data"]?["seq"]?.intValue ?? -1)
        }
        #expect(seen == Array(seen.first!...lastSeen))
        #expect(after == Array((lastSeen + 1)..<total), "a gap or a duplicate after \(lastSeen): \(after.prefix(20))")
        try await publishing.value
        await second.close()
        await publisher.close()
        await node.stop()
    }

    @Test("live messages still on their way when a recovery ends are not sent twice (a broker whose deliveries lag its history by 1 s)")
    func recoveryWithLaggingDeliveries() async throws {
        var configuration = NodeConfiguration(port: 0)
        configuration.security.policy.channels = [ChannelRule(match: "hist:*", historySize: 10_000, historyTTL: 600)]
        // As with Redis, where the stream read can come back before the PUBLISHes reach the node.
        let broker = LocalBroker(configuration: .init(latency: .seconds(1)), eventLoop: MultiThreadedEventLoopGroup.singleton.next())
        let node = try await TestNode.start(broker: broker, configuration: configuration)
        let first = try await RawWebSocket.connect(node.url)
        _ = try await first.call(["id": "s", "method": "subscribe", "payload": ["channel": "hist:lag"]])
        _ = try await Self.publish(first, "hist:lag", 0)
        let zero = try await Self.nextMessage(first, on: "hist:lag")
        for seq in 1...5 { _ = try await Self.publish(first, "hist:lag", seq) }
        // In the stream already, delivered in about a second: the recovery sends them first.
        let second = try await RawWebSocket.connect(node.url)
        let reply = try await second.call(["id": "r", "method": "subscribe", "payload": ["channel": "hist:lag", "since": ["offset": zero["offset"]!, "epoch": zero["epoch"]!]]])
        #expect(reply["response"]?["recovered"] == true)
        _ = try await Self.publish(first, "hist:lag", 6)
        var seqs: [Int] = []
        while seqs.last != 6 { seqs.append(try await Self.nextMessage(second, on: "hist:lag")["data"]?["seq"]?.intValue ?? -1) }
        #expect(seqs == [1, 2, 3, 4, 5, 6])
        for socket in [first, second] { await socket.close() }
        await node.stop()
    }

    @Test("recovery says recovered: false with the reason when the epoch changed or the position fell out of the window")
    func recoveryRefusals() async throws {
        let node = try await Self.node()
        let socket = try await RawWebSocket.connect(node.url)
        for seq in 0..<12 { _ = try await Self.publish(socket, "small:w", seq) }
        let history = try await socket.call(["id": "h", "method": "history", "payload": ["channel": "small:w"]])["response"]
        let kept = history?["publications"]?.arrayValue ?? []
        #expect(kept.compactMap { $0["data"]?["seq"]?.intValue } == Array(7..<12))
        let epoch = try #require(history?["epoch"])

        let stale = try await RawWebSocket.connect(node.url)
        let outOfWindow = try await stale.call(["id": "r", "method": "subscribe", "payload": ["channel": "small:w", "since": ["offset": "0-2", "epoch": epoch]]])
        #expect(outOfWindow["response"]?["recovered"] == false)
        #expect(outOfWindow["response"]?["reason"]?.stringValue?.contains("window") == true)
        // What the window still has comes anyway.
        #expect(try await Self.nextMessage(stale, on: "small:w")["data"]?["seq"] == 7)

        let other = try await RawWebSocket.connect(node.url)
        let wrongEpoch = try await other.call(["id": "r", "method": "subscribe", "payload": ["channel": "small:w", "since": ["offset": "0-11", "epoch": "another"]]])
        #expect(wrongEpoch["response"]?["recovered"] == false)
        #expect(wrongEpoch["response"]?["reason"]?.stringValue?.contains("epoch") == true)
        let upToDate = try await RawWebSocket.connect(node.url)
        let current = try await upToDate.call(["id": "r", "method": "subscribe", "payload": ["channel": "small:w", "since": ["offset": kept.last!["offset"]!, "epoch": epoch]]])
        #expect(current["response"]?["recovered"] == true)
        #expect(current["response"]?["offset"] == kept.last!["offset"])
        for client in [socket, stale, other, upToDate] { await client.close() }
        await node.stop()
    }

    @Test("presence lists the channel's sockets and counts users; join and leave events reach subscribers; a closed socket leaves")
    func presence() async throws {
        let node = try await Self.node()
        let a = try await RawWebSocket.connect(node.url)
        let b = try await RawWebSocket.connect(node.url)
        let aID = try #require(try await a.call(["id": "i", "method": "session"])["response"]?["socket"]?.stringValue)
        let bID = try #require(try await b.call(["id": "i", "method": "session"])["response"]?["socket"]?.stringValue)
        _ = try await a.call(["id": "s", "method": "subscribe", "payload": ["channel": "room:1"]])
        #expect(try await Self.nextMessage(a, on: "room:1")["event"] == "$join")
        _ = try await b.call(["id": "s", "method": "subscribe", "payload": ["channel": "room:1", "event": "chat:*"]])
        _ = try await b.call(["id": "s2", "method": "subscribe", "payload": ["channel": "room:1", "event": "$*"]])  // a second pattern: still one entry
        let joined = try await Self.nextMessage(a, on: "room:1")
        #expect(joined["event"] == "$join")
        #expect(joined["data"]?["socket"] == .string(bID))
        #expect(joined["data"]?["node"] == .string(node.hub.nodeID))

        let list = try await a.call(["id": "p", "method": "presence", "payload": ["channel": "room:1"]])
        #expect(list["response"]?["presence"]?.arrayValue?.compactMap { $0["socket"]?.stringValue }.sorted() == [aID, bID].sorted())
        let stats = try await a.call(["id": "p", "method": "presence_stats", "payload": ["channel": "room:1"]])
        #expect(stats["response"] == ["sockets": 2, "users": 0])
        let plain = try await a.call(["id": "p", "method": "presence", "payload": ["channel": "plain"]])
        #expect(plain["error"]?["errors"]?["channel"]?.stringValue?.hasPrefix("No presence") == true)

        await b.close()
        let left = try await Self.nextMessage(a, on: "room:1")
        #expect(left["event"] == "$leave")
        #expect(left["data"]?["socket"] == .string(bID))
        #expect(try await a.call(["id": "p", "method": "presence", "payload": ["channel": "room:1"]])["response"]?["presence"]?.arrayValue?.count == 1)
        _ = try await a.call(["id": "u", "method": "unsubscribe", "payload": ["channel": "room:1"]])
        let probe = try await RawWebSocket.connect(node.url)
        #expect(try await probe.call(["id": "p", "method": "presence", "payload": ["channel": "room:1"]])["response"]?["presence"] == [])
        await a.close()
        await probe.close()
        await node.stop()
    }
}
