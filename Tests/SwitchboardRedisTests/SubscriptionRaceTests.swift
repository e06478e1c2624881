import NIOCore
import Switchboard
import SwitchboardRedis
import SwitchboardServer
import SwitchboardTesting
import Testing

/// A node's broker subscription to a channel must follow its sockets, whatever order joins and
/// leaves come in: a socket whose subscribe was acknowledged receives, even when the channel's
/// last socket left just before it came.
@Suite("Subscriptions: leave and rejoin races on a real Redis", .serialized)
struct SubscriptionRaceTests {
    static func subscribe(_ socket: RawWebSocket, _ channel: String) async throws {
        let reply = try await socket.call(["id": "s", "method": "subscribe", "payload": ["channel": .string(channel)]])
        #expect(reply["response"] != nil, "subscribe failed: \(reply)")
    }

    @Test("the last socket leaves and another joins at once: the new one receives, on every one of 300 channels")
    func rejoinAfterLastLeaves() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        let delay = TimeAmount.milliseconds(300)
        let a = try await TestNode.start(redisURL: redis.url) { $0.unsubscribeDelay = delay }
        let b = try await TestNode.start(redisURL: redis.url)
        #expect(await a.waitUntilReady())
        #expect(await b.waitUntilReady())
        let count = 300
        var joined: [RawWebSocket] = []
        for index in 0..<count {
            let channel = "race-\(index)"
            let first = try await RawWebSocket.connect(a.url)
            let second = try await RawWebSocket.connect(a.url)
            try await Self.subscribe(first, channel)
            // The first socket goes while the second one's subscribe is on its way.
            async let subscribed: Void = Self.subscribe(second, channel)
            first.abort()
            try await subscribed
            joined.append(second)
        }
        // Every release node A decided on is sent to Redis `delay` after the last socket left:
        // wait past that, so a wrong one has happened before the publishes.
        try await Task.sleep(for: .nanoseconds(delay.nanoseconds * 3))
        let publisher = try await RawWebSocket.connect(b.url)
        for index in 0..<count {
            let reply = try await publisher.call(["id": .string("\(index)"), "method": "publish", "payload": ["channel": .string("race-\(index)"), "data": [.number(JSONNumber(index))]]])
            #expect(reply["response"] != nil)
        }
        var deaf: [Int] = []
        for (index, socket) in joined.enumerated() {
            // The first waits for the publishes to arrive; the others were sent before it.
            let message = try? await socket.nextJSON(timeout: .seconds(index == 0 ? 5 : 1))
            if message?["data"] != [.number(JSONNumber(index))] { deaf.append(index) }
        }
        #expect(deaf.isEmpty, "\(deaf.count) of \(count) subscribed sockets received nothing: \(deaf.prefix(10))")
        for socket in joined { socket.abort() }
        publisher.abort()
        await a.stop()
        await b.stop()
    }

    @Test("sockets joining and leaving one channel in a loop while another node publishes: every socket still subscribed receives")
    func churn() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        let delay = TimeAmount.milliseconds(50)
        let a = try await TestNode.start(redisURL: redis.url) { $0.unsubscribeDelay = delay }
        let b = try await TestNode.start(redisURL: redis.url)
        #expect(await a.waitUntilReady())
        #expect(await b.waitUntilReady())
        let publisher = try await RawWebSocket.connect(b.url)
        var kept: [RawWebSocket] = []
        for round in 0..<60 {
            // The channel's only socket leaves (closing, aborting, or unsubscribing), and one joins.
            let leaving = try await RawWebSocket.connect(a.url)
            try await Self.subscribe(leaving, "churn")
            switch round % 3 {
            case 0: await leaving.close()
            case 1: leaving.abort()
            default: _ = try await leaving.call(["id": "u", "method": "unsubscribe", "payload": ["channel": "churn"]])
            }
            for socket in kept { socket.abort() }
            let joining = try await RawWebSocket.connect(a.url)
            try await Self.subscribe(joining, "churn")
            kept = [joining]
            if round.isMultiple(of: 10) {
                try await Task.sleep(for: .nanoseconds(delay.nanoseconds * 3))  // past the delayed release
                _ = try await publisher.call(["id": .string("\(round)"), "method": "publish", "payload": ["channel": "churn", "data": [.number(JSONNumber(round))]]])
                let message = try? await joining.nextJSON(timeout: .seconds(5))
                #expect(message?["data"] == [.number(JSONNumber(round))], "round \(round): the subscribed socket received nothing")
            }
        }
        for socket in kept { socket.abort() }
        publisher.abort()
        await a.stop()
        await b.stop()
    }
}
