import SwitchboardProcesses
import NIOCore
import Switchboard
import SwitchboardRedis
import SwitchboardServer
import SwitchboardTesting
import Testing

/// Nodes on one real redis-server, driven over real WebSockets.
@Suite("Redis broker: several nodes on one Redis")
struct RedisBrokerTests {
    static func subscribe(_ socket: RawWebSocket, _ channel: String, event: String? = nil) async throws {
        var payload: JSONObject = ["channel": .string(channel)]
        if let event { payload["event"] = .string(event) }
        let reply = try await socket.call(["id": "s", "method": "subscribe", "payload": .object(payload)])
        #expect(reply["response"] != nil, "subscribe failed: \(reply)")
    }

    static func publish(_ socket: RawWebSocket, _ channel: String, _ data: JSONValue, id: String = "p") async throws -> JSONValue {
        try await socket.call(["id": .string(id), "method": "publish", "payload": ["channel": .string(channel), "data": data]])
    }

    @Test("three nodes, many sockets: every socket gets each message once, in each publisher's order")
    func threeNodes() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        let nodes = try await [TestNode.start(redisURL: redis.url), TestNode.start(redisURL: redis.url), TestNode.start(redisURL: redis.url)]
        for node in nodes { #expect(await node.waitUntilReady()) }
        var subscribers: [RawWebSocket] = []
        for node in nodes {
            for _ in 0..<8 {
                let socket = try await RawWebSocket.connect(node.url)
                try await Self.subscribe(socket, "room")
                try await Self.subscribe(socket, "room", event: "e*")  // overlapping pattern: still one copy
                subscribers.append(socket)
            }
        }
        let publishers = try await nodes.asyncMap { try await RawWebSocket.connect($0.url) }
        let count = 25
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, publisher) in publishers.enumerated() {
                group.addTask {
                    for i in 0..<count {
                        try await publisher.send(json: [
                            "id": .string("\(i)"), "method": "publish",
                            "payload": ["channel": "room", "event": "e", "data": [.number(JSONNumber(index)), .number(JSONNumber(i))]],
                        ])
                    }
                    for _ in 0..<count { #expect(try await publisher.nextJSON()["response"] != nil) }
                }
            }
            try await group.waitForAll()
        }
        for socket in subscribers {
            var next = [0, 0, 0]
            for _ in 0..<(count * publishers.count) {
                let message = try await socket.nextJSON()
                let data = try #require(message["data"]?.arrayValue)
                let publisher = try #require(data[0].intValue)
                #expect(data[1].intValue == next[publisher], "publisher \(publisher) out of order")
                next[publisher] += 1
            }
            #expect(next == [count, count, count])
            #expect(socket.events.drain().isEmpty, "duplicates")
        }
        for node in nodes { await node.stop() }
    }

    @Test("a subscription is live when acknowledged, across nodes")
    func liveWhenAcknowledged() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        let a = try await TestNode.start(redisURL: redis.url)
        let b = try await TestNode.start(redisURL: redis.url)
        await a.waitUntilReady()
        await b.waitUntilReady()
        let subscriber = try await RawWebSocket.connect(a.url)
        let publisher = try await RawWebSocket.connect(b.url)
        for round in 0..<20 {
            let channel = "live\(round)"
            try await Self.subscribe(subscriber, channel)
            _ = try await Self.publish(publisher, channel, "first")
            #expect(try await subscriber.nextJSON() == ["channel": .string(channel), "event": "", "data": "first"])
        }
        await a.stop()
        await b.stop()
    }

    @Test("the last local socket leaving removes the channel at Redis; coming back restores it")
    func channelRelease() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        let node = try await TestNode.start(redisURL: redis.url) { $0.unsubscribeDelay = .milliseconds(200) }
        await node.waitUntilReady()
        let one = try await RawWebSocket.connect(node.url)
        let two = try await RawWebSocket.connect(node.url)
        try await Self.subscribe(one, "temp")
        try await Self.subscribe(two, "temp")
        #expect(try await redis.command(["PUBSUB", "NUMSUB", "switchboard:temp"]) == .array([.bulkString(ByteBuffer(string: "switchboard:temp")), .integer(1)]))
        _ = try await one.call(["id": "u", "method": "unsubscribe", "payload": ["channel": "temp"]])
        await two.close()
        #expect(try await eventually {
            try await redis.command(["PUBSUB", "CHANNELS", "switchboard:t*"]) == .array([])
        })
        try await Self.subscribe(one, "temp")
        #expect(try await redis.command(["PUBSUB", "CHANNELS", "switchboard:t*"]) == .array([.bulkString(ByteBuffer(string: "switchboard:temp"))]))
        await node.stop()
    }

    @Test("a raw PUBLISH reaches sockets on every node; malformed payloads are dropped and counted")
    func interop() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        let nodes = try await [TestNode.start(redisURL: redis.url), TestNode.start(redisURL: redis.url)]
        var sockets: [RawWebSocket] = []
        for node in nodes {
            await node.waitUntilReady()
            let socket = try await RawWebSocket.connect(node.url)
            try await Self.subscribe(socket, "news")
            sockets.append(socket)
        }
        for payload in ["not json", #"{"event":"e"}"#, #"{"event":5,"data":1}"#, "[1,2]", #"{"data":"#] {
            _ = try await redis.command(["PUBLISH", "switchboard:news", payload])
        }
        _ = try await redis.command(["PUBLISH", "switchboard:news", #"{"event":"e","data":1}"#])
        _ = try await redis.command(["PUBLISH", "switchboard:news", #"{"data":{"big":123456789012345678901234567890}}"#])
        for socket in sockets {
            #expect(try await socket.nextJSON() == ["channel": "news", "event": "e", "data": 1])
            #expect(try await socket.nextJSON() == ["channel": "news", "event": "", "data": ["big": .number(JSONNumber(literal: "123456789012345678901234567890")!)]])
        }
        let metrics = try await HTTPProbe.request("GET", "/metrics", port: nodes[0].port)
        #expect(metrics.body.contains("switchboard_messages_dropped_total 5"), "\(metrics.body)")
        for node in nodes { await node.stop() }
    }

    @Test("Redis killed mid-stream and restarted: nodes and sockets stay, publishes fail meanwhile, delivery resumes")
    func redisRestart() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        let nodes = try await [TestNode.start(redisURL: redis.url), TestNode.start(redisURL: redis.url), TestNode.start(redisURL: redis.url)]
        var subscribers: [RawWebSocket] = []
        for node in nodes {
            await node.waitUntilReady()
            let socket = try await RawWebSocket.connect(node.url)
            try await Self.subscribe(socket, "f")
            subscribers.append(socket)
        }
        let publisher = try await RawWebSocket.connect(nodes[0].url)
        #expect(try await Self.publish(publisher, "f", "before")["response"] != nil)
        for socket in subscribers { #expect(try await socket.nextJSON()["data"] == "before") }

        let jsonRPC = try await RawWebSocket.connect(nodes[0].jsonRPCURL)
        redis.kill9()
        let during = try await Self.publish(publisher, "f", "during")
        // /stream keeps docs/protocol.md's shape exactly; JSON-RPC's data says why.
        #expect(during["error"] == ["message": "Invalid RPC parameters", "errors": ["channel": "Cannot publish to channel"]])
        let explained = try await jsonRPC.call(["jsonrpc": "2.0", "id": 1, "method": "publish", "params": ["channel": "f", "data": "during"]])
        #expect(explained["error"]?["data"]?["reason"]?.stringValue?.contains("broker (redis) is unavailable") == true)
        await jsonRPC.close()
        let readyz = try await HTTPProbe.request("GET", "/readyz", port: nodes[1].port)
        #expect(readyz.status == 503)
        try await Task.sleep(for: .seconds(1))
        try await redis.restart()
        let restarted = ContinuousClock.now

        // Publish until a message is accepted and reaches every socket again (older accepted
        // messages may have reached only some sockets: skip them).
        var delivered = false
        var attempt = 0
        while !delivered, ContinuousClock.now - restarted < .seconds(5) {
            attempt += 1
            let token = JSONValue.string("after \(attempt)")
            guard try await Self.publish(publisher, "f", token)["response"] != nil else {
                try await Task.sleep(for: .milliseconds(20))
                continue
            }
            delivered = true
            for socket in subscribers {
                var seen = false
                while !seen, case .text(let text, _)? = await socket.events.take(timeout: .milliseconds(300)) {
                    seen = (try? JSONValue(parsing: text))?["data"] == token
                }
                delivered = delivered && seen
            }
        }
        let resumedAfter = ContinuousClock.now - restarted
        #expect(delivered)
        // Reconnection backs off 0.1 s doubling to 0.5 s: about 0.5 s on an idle machine; the bound
        // leaves room for a loaded one (the suites run in parallel).
        #expect(resumedAfter < .seconds(8), "delivery resumed \(resumedAfter) after the restart")
        #expect(try await redis.command(["PUBSUB", "NUMSUB", "switchboard:f"]) == .array([.bulkString(ByteBuffer(string: "switchboard:f")), .integer(3)]))
        for node in nodes {
            #expect(node.node.isReady)
            #expect(node.hub.sockets.count >= 1)
        }
        for node in nodes { await node.stop() }
    }

    @Test("a node started while Redis is unreachable runs, is not ready, and becomes ready when Redis appears")
    func startWithoutRedis() async throws {
        let reserved = try PortReservation()
        let node = try await TestNode.start(redisURL: "redis://127.0.0.1:\(reserved.port)")
        let socket = try await RawWebSocket.connect(node.url)
        #expect(try await HTTPProbe.request("GET", "/readyz", port: node.port).status == 503)
        #expect(try await Self.publish(socket, "c", "x")["error"]?["errors"] == ["channel": "Cannot publish to channel"])
        #expect(try await HTTPProbe.request("GET", "/healthz", port: node.port).status == 200)
        reserved.release()
        let redis = try await RedisServer.start(port: reserved.port)
        defer { redis.stop() }
        #expect(await node.waitUntilReady())
        #expect(try await HTTPProbe.request("GET", "/readyz", port: node.port).status == 200)
        try await Self.subscribe(socket, "c")
        _ = try await Self.publish(socket, "c", "x")
        #expect(try await socket.nextJSON()["data"] == "x")
        await node.stop()
    }

    @Test("while Redis is down a subscribe fails after a bounded wait; the socket stays")
    func subscribeWhileDown() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        let node = try await TestNode.start(redisURL: redis.url) { $0.subscribeTimeout = .milliseconds(500) }
        await node.waitUntilReady()
        let socket = try await RawWebSocket.connect(node.url)
        redis.kill9()
        #expect(await eventually { !node.node.isReady })
        let started = ContinuousClock.now
        let reply = try await socket.call(["id": "s", "method": "subscribe", "payload": ["channel": "down"]])
        #expect(reply["error"]?["errors"] == ["channel": "Invalid channel"])
        #expect(ContinuousClock.now - started < .seconds(3))
        #expect(try await socket.call(["id": "i", "method": "info"])["response"]?["channels"] == [:])
        await node.stop()
    }

    @Test("a subscriber connection that goes silent is found by the probe and replaced")
    func silentSubscriber() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        let proxy = try await TCPProxy.start(to: redis.port)
        defer { proxy.close() }
        let node = try await TestNode.start(redisURL: "redis://127.0.0.1:\(proxy.port)") {
            $0.probeInterval = .milliseconds(500)
            $0.probeTimeout = .seconds(2)
        }
        await node.waitUntilReady()
        let socket = try await RawWebSocket.connect(node.url)
        try await Self.subscribe(socket, "quiet")
        #expect(node.hub.broker.info["reconnects"] == 0)
        proxy.freezeCurrentConnections()
        // The node notices within about probeInterval + probeTimeout and reconnects.
        #expect(await eventually(timeout: .seconds(15)) { (node.hub.broker.info["reconnects"]?.intValue ?? 0) >= 1 && node.node.isReady })
        // Delivery resumes. (On a loaded machine a probe through the test's proxy can be late
        // again and cost one more reconnection, during which a message is lost as pub/sub loses
        // it: publish until one is heard.)
        #expect(await eventually(timeout: .seconds(15)) {
            _ = try? await redis.command(["PUBLISH", "switchboard:quiet", #"{"event":null,"data":"heard"}"#])
            return (try? await socket.nextJSON(timeout: .seconds(1))) == ["channel": "quiet", "event": "", "data": "heard"]
        })
        await node.stop()
    }

    @Test("a Redis that hangs (SIGSTOP) is found within the command timeout: the publish fails, /readyz turns 503; after SIGCONT delivery resumes")
    func hungRedis() async throws {
        let redis = try await RedisServer.start()
        defer {
            redis.resume()
            redis.stop()
        }
        let node = try await TestNode.start(redisURL: redis.url) { $0.commandTimeout = .seconds(1) }
        #expect(await node.waitUntilReady())
        let socket = try await RawWebSocket.connect(node.url)
        try await Self.subscribe(socket, "hung")
        redis.pause()
        let started = ContinuousClock.now
        defer { redis.resume() }
        let during = try await Self.publish(socket, "hung", "during")
        let failedAfter = ContinuousClock.now - started
        #expect(during["error"]?["errors"] == ["channel": "Cannot publish to channel"])
        // The 1 s timeout, checked every quarter of it (before: about 35 s, the kernel's keepalive).
        #expect(failedAfter < .seconds(4), "the publish failed after \(failedAfter)")
        #expect(try await HTTPProbe.request("GET", "/readyz", port: node.port).status == 503)
        #expect(try await HTTPProbe.request("GET", "/healthz", port: node.port).status == 200)
        // Stopped for a while, as a hung server would be: the node keeps trying meanwhile.
        try await Task.sleep(until: started + .seconds(5))
        #expect(try await HTTPProbe.request("GET", "/readyz", port: node.port).status == 503)
        redis.resume()
        let resumed = ContinuousClock.now
        // Messages accepted while it reconnects may be lost as pub/sub loses them: publish until heard.
        #expect(await eventually(timeout: .seconds(15)) {
            _ = try? await Self.publish(socket, "hung", "after")
            while let event = try? await socket.next(timeout: .milliseconds(500)) {
                if case .text(let text, _) = event, (try? JSONValue(parsing: text))?["data"] == "after" { return true }
            }
            return false
        })
        let deliveredAfter = ContinuousClock.now - resumed
        // Measured about 0.5 s (the reconnection backoff); the bound leaves room for a loaded machine.
        #expect(deliveredAfter < .seconds(4), "delivery resumed \(deliveredAfter) after SIGCONT")
        await node.stop()
    }

    @Test("shutdown closes sockets with 1001 and the node's channels leave Redis")
    func shutdown() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        let node = try await TestNode.start(redisURL: redis.url)
        await node.waitUntilReady()
        let socket = try await RawWebSocket.connect(node.url)
        try await Self.subscribe(socket, "bye")
        await node.stop()
        #expect(try await socket.closeCode() == 1001)
        #expect(try await eventually {
            try await redis.command(["PUBSUB", "NUMSUB", "switchboard:bye"]) == .array([.bulkString(ByteBuffer(string: "switchboard:bye")), .integer(0)])
        })
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
