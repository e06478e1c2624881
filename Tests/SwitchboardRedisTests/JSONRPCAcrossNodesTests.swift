import NIOCore
import Switchboard
import SwitchboardRedis
import SwitchboardServer
import SwitchboardTesting
import Testing

/// `/jsonrpc` topics across nodes on one real redis-server.
@Suite("JSON-RPC topics across nodes")
struct JSONRPCAcrossNodesTests {
    static func request(_ id: JSONValue, _ method: String, _ params: JSONValue? = nil) -> JSONValue {
        var object: JSONObject = ["jsonrpc": "2.0", "id": id, "method": .string(method)]
        if let params { object["params"] = params }
        return .object(object)
    }

    @Test("/stream on node A, /jsonrpc on node B and a raw Redis PUBLISH reach each other's subscribers")
    func crossNodeCrossProtocol() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        let a = try await TestNode.start(redisURL: redis.url)
        let b = try await TestNode.start(redisURL: redis.url)
        #expect(await a.waitUntilReady())
        #expect(await b.waitUntilReady())
        let rpcOnB = try await RawWebSocket.connect(b.jsonRPCURL)
        let streamOnA = try await RawWebSocket.connect(a.url)
        #expect(try await rpcOnB.call(Self.request(1, "subscribe", "news"))["result"] == ["news"])
        #expect(try await streamOnA.call(["id": "s", "method": "subscribe", "payload": ["channel": "news"]])["response"] != nil)

        _ = try await streamOnA.call(["id": "p", "method": "publish", "payload": ["channel": "news", "data": ["from": "A"]]])
        #expect(try await rpcOnB.nextJSON() == ["jsonrpc": "2.0", "method": "news", "params": ["from": "A"]])
        #expect(try await streamOnA.nextJSON()["data"] == ["from": "A"])

        _ = try await rpcOnB.call(Self.request(2, "publish", ["news", ["from": "B"]]))
        #expect(try await streamOnA.nextJSON() == ["channel": "news", "event": "", "data": ["from": "B"]])
        #expect(try await rpcOnB.nextJSON()["params"] == ["from": "B"])

        #expect(try await redis.command(["PUBLISH", "switchboard:news", #"{"event":"raw","data":[1,2]}"#]) == .integer(2))
        #expect(try await rpcOnB.nextJSON() == ["jsonrpc": "2.0", "method": "news", "params": [1, 2]])
        #expect(try await streamOnA.nextJSON() == ["channel": "news", "event": "raw", "data": [1, 2]])
        await rpcOnB.close()
        await streamOnA.close()
        await a.stop()
        await b.stop()
    }

    @Test("a topic's state published on one node reaches a subscriber on another, from Redis; it expires, and other channels keep none")
    func stateAcrossNodes() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        var configuration = NodeConfiguration(port: 0, topics: TopicCatalog(["score", "other"]))
        configuration.security.policy.channels = [ChannelRule(match: "other", state: true, stateTTL: 60)]
        let a = try await TestNode.start(redisURL: redis.url, configuration: configuration)
        let b = try await TestNode.start(redisURL: redis.url, configuration: configuration)
        #expect(await a.waitUntilReady())
        #expect(await b.waitUntilReady())
        let publisher = try await RawWebSocket.connect(a.jsonRPCURL)
        #expect(try await publisher.call(Self.request(1, "publish", ["channel": "score", "data": ["home": 3], "state": true]))["result"] != nil)
        #expect(try await redis.command(["GET", "switchboard:state:{score}"]).string == #"{"event":null,"data":{"home":3}}"#)
        // A topic's state lives a day; a rule's state_ttl_s sets its own.
        let ttl = try await redis.command(["TTL", "switchboard:state:{score}"]).integer ?? -1
        #expect((86_000...86_400).contains(ttl), "TTL \(ttl)")
        _ = try await publisher.call(Self.request(9, "publish", ["channel": "other", "data": [1], "state": true]))
        #expect((1...60).contains(try await redis.command(["TTL", "switchboard:state:{other}"]).integer ?? -1))
        // A channel that is neither a topic nor a state rule's keeps no state: refused, no key made.
        let refused = try await publisher.call(Self.request(8, "publish", ["channel": "elsewhere", "data": [1], "state": true]))
        #expect(refused["error"]?["code"] == -32602)
        #expect(try await redis.command(["EXISTS", "switchboard:state:{elsewhere}"]).integer == 0)
        let subscriber = try await RawWebSocket.connect(b.jsonRPCURL)
        try await subscriber.send(json: Self.request(1, "subscribe", ["score"]))
        #expect(try await subscriber.nextJSON() == ["jsonrpc": "2.0", "method": "score", "params": ["home": 3]])
        #expect(try await subscriber.nextJSON()["result"] == ["score"])
        // A later state reaches the subscriber live, like any message.
        _ = try await publisher.call(Self.request(2, "publish", ["channel": "score", "data": ["home": 4], "state": true]))
        #expect(try await subscriber.nextJSON()["params"] == ["home": 4])
        await publisher.close()
        await subscriber.close()
        await a.stop()
        await b.stop()
    }
}
