import Benchmark
import Logging
import NIOCore
import NIOEmbedded
import Switchboard
import SwitchboardRedis

/// Allocation counts per operation on the hot paths (each benchmark run is one operation):
/// a `/stream` publish request decoded, published and answered; one message delivered to N
/// sockets; one Redis push parsed. Counts are deterministic: a change that adds an allocation
/// per message shows here, whatever the machine's noise.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.mallocCountTotal, .wallClock],
        scalingFactor: .one,
        maxDuration: .seconds(3),
        maxIterations: 20_000
    )

    // With an `event`, the answer is the payload as sent; without one, it is built
    // (`{"channel", "event": null, "data"}`) with room for the reply around it.
    for (name, withEvent) in [("", true), (" without an event", false)] {
        Benchmark("publish request\(name) decoded, published and answered (/stream, local broker, no subscribers)") { benchmark, state in
            let request = withEvent ? state.request : state.requestWithoutEvent
            for _ in benchmark.scaledIterations {
                state.session.receive(text: request)
                state.loop.run()
            }
        } setup: {
            PublishFixture()
        }
    }

    for count in [1, 100, 1000] {
        Benchmark("message delivered to \(count) sockets (one channel, one event loop)") { benchmark, state in
            for _ in benchmark.scaledIterations {
                blackHole(state.registry.deliver(channel: "room", event: "e", rawData: state.data))
                state.loop.run()
            }
        } setup: {
            try await DeliveryFixture(sockets: count)
        }
    }

    Benchmark("Redis push parsed (message on a channel, 100-byte payload)") { benchmark, state in
        for _ in benchmark.scaledIterations {
            try state.reader.feed(state.push)
            blackHole(try state.reader.nextReply())
        }
    } setup: {
        PushFixture()
    }
}

/// A subscriber connection's reader and one `message` push as it comes from the socket.
final class PushFixture: @unchecked Sendable {
    let reader = HiredisReader(keepBuffer: true)
    let push = ByteBuffer(string: "*3\r\n$7\r\nmessage\r\n$17\r\nswitchboard:room1\r\n$100\r\n" + String(repeating: "x", count: 100) + "\r\n")
}

/// A session on an embedded loop with the local broker: what one `/stream` socket's publish costs
/// without the WebSocket framing.
final class PublishFixture: @unchecked Sendable {
    let loop = EmbeddedEventLoop()
    let session: RPCSession
    let request = ByteBuffer(string: #"{"id":"1","method":"publish","payload":{"channel":"room","event":"e","data":{"n":1,"text":"hello"}}}"#)
    let requestWithoutEvent = ByteBuffer(string: #"{"id":"1","method":"publish","payload":{"channel":"room","data":{"n":1,"text":"hello"}}}"#)

    init() {
        let hub = Hub(backend: LocalBroker(eventLoop: loop))
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        session = RPCSession(
            router: .standard(), hub: hub, socketID: SocketID(rawValue: 1),
            eventLoop: loop, logger: logger, send: { _ in }
        )
    }
}

/// A sink socket: it takes messages and drops them.
final class SinkSocket: SocketHandle, @unchecked Sendable {
    let id: SocketID
    let eventLoop: any EventLoop
    let acceptsDeflatedFrames = false
    var received = 0

    init(id: UInt64, loop: any EventLoop) {
        self.id = SocketID(rawValue: id)
        self.eventLoop = loop
    }

    func enqueue(_ message: OutboundMessage) { received += 1 }
    func close(code: UInt16, reason: String) {}
}

/// `sockets` sockets subscribed to one channel, on one loop.
final class DeliveryFixture: @unchecked Sendable {
    let loop = EmbeddedEventLoop()
    let registry: ChannelRegistry
    let data = ByteBuffer(string: #"{"n":1,"text":"hello"}"#)

    init(sockets: Int) async throws {
        let hub = Hub(backend: LocalBroker(eventLoop: loop))
        registry = hub.channels
        for index in 0..<sockets {
            let socket = SinkSocket(id: UInt64(index + 1), loop: loop)
            hub.connect(socket)
            _ = try await hub.join(socket.id, channel: "room", pattern: "*")
        }
    }
}
