import CoreMetrics
import NIOCore
import Switchboard
import SwitchboardServer
import SwitchboardTesting
import Testing

@Suite("Slow consumers and keepalive")
struct SlowConsumerTests {
    /// Polls `condition` until it holds or `deadline` passes.
    static func eventually(within deadline: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws -> Bool {
        let end = ContinuousClock.now + deadline
        while ContinuousClock.now < end {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return try await condition()
    }

    @Test("a socket that stops reading is closed with 1008; the others get every message")
    func slowConsumer() async throws {
        let node = try await TestNode.start(configuration: NodeConfiguration(port: 0, stream: StreamConfiguration(maxOutboundBytes: 2 * 1024 * 1024, closeTimeout: .seconds(15))))
        let slow = try await RawWebSocket.connect(node.url)
        let healthy = try await RawWebSocket.connect(node.url)
        for socket in [slow, healthy] {
            _ = try await socket.call(["id": "s", "method": "subscribe", "payload": ["channel": "firehose"]])
        }
        try await slow.channel.setOption(.autoRead, value: false).get()
        let publisher = try await RawWebSocket.connect(node.url)
        let blob = String(repeating: "x", count: 64 * 1024)
        let count = 400
        for i in 0..<count {
            try await publisher.send(json: ["id": .string("\(i)"), "method": "publish", "payload": ["channel": "firehose", "data": [.number(JSONNumber(i)), .string(blob)]]])
        }
        for i in 0..<count {
            let message = try await healthy.nextJSON()
            #expect(message["data"]?.arrayValue?.first == .number(JSONNumber(i)))
        }
        #expect(try await Self.eventually { node.hub.channels.info()["firehose"] == ["*": 1] })
        #expect(node.hub.sockets.count == 2)
        try await slow.channel.setOption(.autoRead, value: true).get()
        slow.channel.read()
        #expect(try await slow.closeCode() == 1008)
        await node.stop()
    }

    @Test("idle sockets that answer pings stay; sockets that answer nothing are dropped")
    func keepalive() async throws {
        let node = try await TestNode.start(configuration: NodeConfiguration(port: 0, stream: StreamConfiguration(pingInterval: .seconds(2))))
        let alive = try await RawWebSocket.connect(node.url)
        let dead = try await RawWebSocket.connect(node.url)
        try await dead.channel.setOption(.autoRead, value: false).get()
        #expect(try await Self.eventually { node.hub.sockets.count == 1 })
        try await Task.sleep(for: .seconds(5))  // two more rounds of pings: the socket that answers stays
        #expect(try await alive.call(["id": "i", "method": "info"])["response"]?["connections"] == 1)
        await alive.close()
        await node.stop()
    }
}
