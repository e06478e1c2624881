import NIOCore
import NIOPosix
import Testing

@testable import Switchboard

/// The in-process broker under a hub, as a node runs it.
@Suite("Local broker")
struct LocalBrokerTests {
    let loop = MultiThreadedEventLoopGroup.singleton.next()

    /// A hub on `broker`, its queued work running.
    static func hub(_ broker: LocalBroker) -> Hub {
        let hub = Hub(backend: broker)
        Task { await hub.run() }
        return hub
    }

    @Test("join and leave go to the broker once per channel")
    func joinLeave() async throws {
        let broker = Self.hub(LocalBroker(eventLoop: loop))
        let a = RecordingSocket(1, eventLoop: loop)
        let b = RecordingSocket(2, eventLoop: loop)
        broker.connect(a)
        broker.connect(b)
        #expect(try await broker.join(a.id, channel: "c", pattern: "*") == ["c": ["*"]])
        #expect(try await broker.join(b.id, channel: "c", pattern: "e") == ["c": ["e"]])
        #expect(broker.serverInfo()["channels"] == ["c": ["*": 1, "e": 1]])
        #expect(try await broker.leave(a.id, channel: "c", pattern: "*") == [:])
        broker.disconnect(b.id)
        #expect(broker.serverInfo()["channels"] == [:])
        #expect(broker.serverInfo()["connections"] == 1)
        await #expect(throws: BrokerError.cannotSubscribe) { try await broker.leave(a.id, channel: "c", pattern: "*") }
    }

    @Test("the channel rule refuses channels for publish and subscribe")
    func channelRule() async throws {
        let broker = Self.hub(LocalBroker(configuration: .init(channelRule: LocalBroker.Configuration.lowercaseOnly), eventLoop: loop))
        let a = RecordingSocket(1, eventLoop: loop)
        broker.connect(a)
        await #expect(throws: BrokerError.cannotSubscribe) { try await broker.join(a.id, channel: "Test", pattern: "*") }
        await #expect(throws: BrokerError.cannotPublish) { try await broker.publish(channel: "Test", event: nil, data: "x", on: loop).get() }
        #expect(broker.serverInfo()["channels"] == [:])
    }

    @Test("simulated latency delivers later, in publish order")
    func latency() async throws {
        let broker = Self.hub(LocalBroker(configuration: .init(latency: .seconds(1)), eventLoop: loop))
        let a = RecordingSocket(1, eventLoop: loop)
        broker.connect(a)
        _ = try await broker.join(a.id, channel: "c", pattern: "*")
        _ = try await broker.publish(channel: "c", event: nil, data: 0, on: loop).get()
        #expect(a.messages.isEmpty)
        for i in 1..<50 {
            _ = try await broker.publish(channel: "c", event: nil, data: .number(JSONNumber(i)), on: loop).get()
        }
        let deadline = ContinuousClock.now + .seconds(10)
        while a.messages.count < 50, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(a.messages == (0..<50).map { #"{"channel":"c","event":"","data":\#($0)}"# })
    }

    @Test("a closed hub refuses everything and closes its sockets with 1001")
    func close() async throws {
        let broker = Self.hub(LocalBroker(eventLoop: loop))
        let a = RecordingSocket(1, eventLoop: loop)
        broker.connect(a)
        await broker.close()
        #expect(a.closedWith == 1001)
        #expect(!broker.isReady)
        await #expect(throws: BrokerError.cannotPublish) { try await broker.publish(channel: "c", event: nil, data: "x", on: loop).get() }
    }
}
