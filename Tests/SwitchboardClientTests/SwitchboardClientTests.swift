import Switchboard
import SwitchboardClient
import SwitchboardServer
import SwitchboardTesting
import Testing

@Suite("Swift client")
struct SwitchboardClientTests {
    @Test("call, publish, subscribe and unsubscribe")
    func basics() async throws {
        let node = try await TestNode.start()
        let client = try await SwitchboardClient.connect(to: node.url)
        let other = try await SwitchboardClient.connect(to: node.url)
        let all = try await client.subscribe(channel: "news")
        let created = try await client.subscribe(channel: "news", event: "created*")
        #expect(try await client.call("info")["channels"] == ["news": ["*": 1, "created*": 1]])
        #expect(try await other.publish(channel: "news", data: ["n": 1], event: "created") == ["channel": "news", "event": "created", "data": ["n": 1]])
        try await other.publish(channel: "news", data: "plain")
        var allIterator = all.makeAsyncIterator()
        var createdIterator = created.makeAsyncIterator()
        #expect(try await allIterator.next() == ChannelMessage(channel: "news", event: "created", data: ["n": 1]))
        #expect(try await allIterator.next() == ChannelMessage(channel: "news", event: "", data: "plain"))
        #expect(try await createdIterator.next() == ChannelMessage(channel: "news", event: "created", data: ["n": 1]))
        #expect(try await client.unsubscribe(channel: "news", event: "created*") == ["news": ["*"]])
        #expect(try await createdIterator.next() == nil)
        await client.close()
        #expect(try await allIterator.next() == nil)
        await other.close()
        await node.stop()
    }

    @Test("over /jsonrpc: topics, calls by position, errors with their codes")
    func jsonRPC() async throws {
        let node = try await TestNode.start()
        let client = try await SwitchboardClient.connect(to: node.jsonRPCURL)
        #expect(client.wireProtocol == .jsonRPC)
        let news = try await client.subscribe(channel: "news")
        let stream = try await SwitchboardClient.connect(to: node.url)
        try await stream.publish(channel: "news", data: ["id": 1], event: "created")
        var messages = news.makeAsyncIterator()
        #expect(try await messages.next() == ChannelMessage(channel: "news", event: "", data: ["id": 1]))
        #expect(try await client.call("publish", params: ["news", "two"])["data"] == "two")
        #expect(try await messages.next()?.data == "two")
        await #expect(throws: SwitchboardClientError.unsupported("JSON-RPC topics carry no event: subscribe to every event of news")) {
            _ = try await client.subscribe(channel: "news", event: "created")
        }
        do {
            try await client.call("nope")
            Issue.record("no error")
        } catch SwitchboardClientError.rpc(let method, let error) {
            #expect(method == "nope")
            #expect(error.code == -32601)
        }
        #expect(try await client.unsubscribe(channel: "news") == [:])
        await client.close()
        await stream.close()
        await node.stop()
    }

    @Test("server errors arrive as typed errors carrying the error object")
    func errors() async throws {
        let node = try await TestNode.start()
        let client = try await SwitchboardClient.connect(to: node.url)
        await #expect(throws: SwitchboardClientError.rpc(method: "publish", error: .invalidParameter("channel", "Cannot publish to channel"))) {
            try await client.publish(channel: "bad channel", data: "x")
        }
        await #expect(throws: SwitchboardClientError.rpc(method: "nope", error: .unknownMethod("nope"))) {
            try await client.call("nope")
        }
        await #expect(throws: SwitchboardClientError.rpc(method: "subscribe", error: .invalidParameter("channel", "Invalid channel"))) {
            _ = try await client.subscribe(channel: "bad channel")
        }
        await client.close()
        await node.stop()
    }

    @Test("many concurrent calls on one connection get their own replies")
    func concurrentCalls() async throws {
        let node = try await TestNode.start()
        let client = try await SwitchboardClient.connect(to: node.url)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<200 {
                group.addTask {
                    let reply = try await client.publish(channel: "c\(i % 7)", data: [.number(JSONNumber(i))])
                    #expect(reply["data"] == [.number(JSONNumber(i))])
                }
            }
            try await group.waitForAll()
        }
        await client.close()
        await node.stop()
    }

    @Test("a closed connection fails calls and ends subscriptions with the close code")
    func closedByServer() async throws {
        let node = try await TestNode.start()
        let client = try await SwitchboardClient.connect(to: node.url)
        let messages = try await client.subscribe(channel: "x")
        await node.stop()
        var iterator = messages.makeAsyncIterator()
        await #expect(throws: SwitchboardClientError.closed(code: 1001, reason: "going away")) { try await iterator.next() }
        await #expect(throws: SwitchboardClientError.self) { try await client.call("info") }
    }

    @Test("with reconnect on, a client whose node went away subscribes again on the next node")
    func reconnect() async throws {
        // The client goes through a proxy, as through a load balancer.
        let first = try await TestNode.start()
        let balancer = try await TCPProxy.start(to: first.port)
        defer { balancer.close() }
        let client = try await SwitchboardClient.connect(to: "ws://127.0.0.1:\(balancer.port)/stream", configuration: ClientConfiguration(reconnect: true))
        let messages = try await client.subscribe(channel: "again")
        let second = try await TestNode.start()
        balancer.retarget(to: second.port)
        await first.stop()
        let publisher = try await SwitchboardClient.connect(to: second.url)
        // Publish until the resubscription is live (the client reconnects with backoff).
        let deadline = ContinuousClock.now + .seconds(10)
        while try await publisher.call("info")["channels"]?["again"] == nil, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        try await publisher.publish(channel: "again", data: "back")
        var iterator = messages.makeAsyncIterator()
        #expect(try await iterator.next() == ChannelMessage(channel: "again", event: "", data: "back"))
        await client.close()
        await publisher.close()
        await second.stop()
    }

    @Test("closing a client that is reconnecting to a node that is gone ends the reconnection and its subscriptions", .timeLimit(.minutes(1)))
    func closeWhileReconnecting() async throws {
        let node = try await TestNode.start()
        let balancer = try await TCPProxy.start(to: node.port)
        defer { balancer.close() }
        let client = try await SwitchboardClient.connect(to: "ws://127.0.0.1:\(balancer.port)/stream", configuration: ClientConfiguration(reconnect: true))
        let messages = try await client.subscribe(channel: "gone")
        await node.stop()
        // The client retries against nothing: close() ends that and returns.
        await client.close()
        var iterator = messages.makeAsyncIterator()
        #expect(try await iterator.next() == nil, "the subscription ends normally")
        await #expect(throws: SwitchboardClientError.self) { try await client.call("info") }
    }

    @Test("bad URLs are refused with a clear error; an http:// URL says to use ws://")
    func urls() async {
        await #expect(throws: SwitchboardClientError.invalidURL("not a WebSocket URL (ws://host:port/path or wss://…): ftp://x")) {
            _ = try await SwitchboardClient.connect(to: "ftp://x")
        }
        await #expect(throws: SwitchboardClientError.invalidURL("http://127.0.0.1:1/stream is an HTTP URL: use ws:// (or wss:// for TLS), for example ws://127.0.0.1:8080/stream")) {
            _ = try await SwitchboardClient.connect(to: "http://127.0.0.1:1/stream")
        }
    }
}
