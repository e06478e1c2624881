import NIOPosix
import NIOCore
import NIOEmbedded
import Testing

@testable import Switchboard

@Suite("Channel registry")
struct ChannelRegistryTests {
    let loop = EmbeddedEventLoop()

    /// Joins through the registry's steps as `SocketsManager.join` does, with a broker that
    /// always accepts.
    func join(_ registry: ChannelRegistry, _ socket: RecordingSocket, _ channel: String, _ pattern: String = "*") -> JSONObject? {
        switch registry.beginJoin(socket.id, channel: channel, pattern: pattern) {
        case .subscribe: registry.brokerSubscribed(channel: channel)
        case .ready: break
        case .wait, .tooManySubscriptions: return nil
        }
        if case .subscribed(let map) = registry.completeJoin(socket.id, channel: channel, pattern: pattern) { return map }
        return nil
    }

    func deliver(_ registry: ChannelRegistry, _ channel: String, _ event: String?, _ data: JSONValue = "x") -> Int {
        registry.deliver(channel: channel, event: event, rawData: data.jsonBytes)
    }

    @Test("a socket with several matching patterns gets exactly one copy")
    func oneCopy() {
        let registry = ChannelRegistry()
        let a = RecordingSocket(1, eventLoop: loop)
        let b = RecordingSocket(2, eventLoop: loop)
        registry.attach(a)
        registry.attach(b)
        for pattern in ["foo", "f*", "*", "f?o"] { _ = join(registry, a, "c", pattern) }
        _ = join(registry, b, "c", "foo")
        #expect(deliver(registry, "c", "foo") == 2)
        #expect(deliver(registry, "c", "bar") == 1)
        #expect(a.messages == [#"{"channel":"c","event":"foo","data":"x"}"#, #"{"channel":"c","event":"bar","data":"x"}"#])
        #expect(b.messages == [#"{"channel":"c","event":"foo","data":"x"}"#])
    }

    @Test("every socket with any matching pattern gets the message, whatever the registration order")
    func everyMatchingSocket() {
        let registry = ChannelRegistry()
        let star = RecordingSocket(1, eventLoop: loop)
        let foo = RecordingSocket(2, eventLoop: loop)
        registry.attach(star)
        registry.attach(foo)
        _ = join(registry, star, "c", "*")
        _ = join(registry, foo, "c", "foo")
        _ = deliver(registry, "c", "foo")
        _ = deliver(registry, "c", nil)
        #expect(star.messages.count == 2)
        #expect(foo.messages == [#"{"channel":"c","event":"foo","data":"x"}"#])
    }

    @Test("recipients cached between messages follow every join, leave, close and new pattern")
    func cachedRecipientsFollowChanges() {
        let registry = ChannelRegistry()
        let a = RecordingSocket(1, eventLoop: loop)
        let b = RecordingSocket(2, eventLoop: loop)
        let c = RecordingSocket(3, eventLoop: loop)
        for socket in [a, b, c] { registry.attach(socket) }
        _ = join(registry, a, "room")
        #expect(deliver(registry, "room", "e") == 1)
        #expect(deliver(registry, "room", "e") == 1)  // from the cache
        _ = join(registry, b, "room")
        #expect(deliver(registry, "room", "e") == 2)
        _ = registry.leave(a.id, channel: "room", pattern: "*")
        #expect(deliver(registry, "room", "e") == 1)
        // A pattern that is not `*`: recipients now depend on the event.
        _ = join(registry, c, "room", "only")
        #expect(deliver(registry, "room", "other") == 1)
        #expect(deliver(registry, "room", "only") == 2)
        registry.detach(c.id)
        #expect(deliver(registry, "room", "only") == 1)
        registry.detach(b.id)
        #expect(deliver(registry, "room", "e") == 0)
        #expect(a.messages.count == 3)
        #expect(b.messages.count == 5)
        #expect(c.messages == [#"{"channel":"room","event":"only","data":"x"}"#])
    }

    @Test("a closed socket leaves every channel at once, and empty channels are released")
    func detach() {
        let registry = ChannelRegistry()
        let a = RecordingSocket(1, eventLoop: loop)
        let b = RecordingSocket(2, eventLoop: loop)
        registry.attach(a)
        registry.attach(b)
        _ = join(registry, a, "one")
        _ = join(registry, a, "two", "e")
        _ = join(registry, a, "shared")
        _ = join(registry, b, "shared")
        #expect(Set(registry.detach(a.id)) == ["one", "two"])
        #expect(registry.info() == ["shared": ["*": 1]])
        #expect(deliver(registry, "one", nil) == 0)
        #expect(registry.detach(a.id) == [])
    }

    @Test("leave removes one pattern; the last one releases the channel")
    func leave() {
        let registry = ChannelRegistry()
        let a = RecordingSocket(1, eventLoop: loop)
        registry.attach(a)
        _ = join(registry, a, "c", "a")
        _ = join(registry, a, "c", "b")
        #expect(registry.leave(a.id, channel: "c", pattern: "zzz") == .left(["c": ["a", "b"]], release: false))
        #expect(registry.leave(a.id, channel: "c", pattern: "a") == .left(["c": ["b"]], release: false))
        #expect(registry.leave(a.id, channel: "c", pattern: "b") == .left([:], release: true))
        #expect(registry.leave(a.id, channel: "c", pattern: "b") == .notHeld)
    }

    @Test("subscriptions list this socket's channels and patterns only; info counts sockets")
    func maps() {
        let registry = ChannelRegistry()
        let a = RecordingSocket(1, eventLoop: loop)
        let b = RecordingSocket(2, eventLoop: loop)
        registry.attach(a)
        registry.attach(b)
        _ = join(registry, b, "mine", "x")
        #expect(join(registry, a, "mine", "y") == ["mine": ["y"]])
        #expect(join(registry, a, "mine", "y") == ["mine": ["y"]])
        #expect(join(registry, a, "other") == ["mine": ["y"], "other": ["*"]])
        #expect(registry.info() == ["mine": ["x": 1, "y": 1], "other": ["*": 1]])
        #expect(registry.counts.channels == 2)
        #expect(registry.counts.subscriptions == 3)
    }

    @Test("a socket's subscriptions are bounded")
    func limit() {
        let registry = ChannelRegistry(limits: .init(maxSubscriptionsPerSocket: 2))
        let a = RecordingSocket(1, eventLoop: loop)
        registry.attach(a)
        _ = join(registry, a, "c", "1")
        _ = join(registry, a, "c", "2")
        #expect(registry.beginJoin(a.id, channel: "c", pattern: "3") == .tooManySubscriptions)
        #expect(registry.beginJoin(a.id, channel: "c", pattern: "2") == .ready)
    }

    @Test("a socket that went away while joining does not stay registered")
    func goneWhileJoining() {
        let registry = ChannelRegistry()
        let a = RecordingSocket(1, eventLoop: loop)
        registry.attach(a)
        #expect(registry.beginJoin(a.id, channel: "c", pattern: "*") == .subscribe)
        registry.brokerSubscribed(channel: "c")
        registry.detach(a.id)
        #expect(registry.completeJoin(a.id, channel: "c", pattern: "*") == .socketGone(release: true))
        #expect(!registry.contains("c"))
    }

    @Test("a failed broker subscription leaves nothing behind and the next join tries again")
    func brokerFailure() {
        let registry = ChannelRegistry()
        let a = RecordingSocket(1, eventLoop: loop)
        registry.attach(a)
        #expect(registry.beginJoin(a.id, channel: "c", pattern: "*") == .subscribe)
        registry.brokerFailed(channel: "c", error: BrokerError.cannotSubscribe)
        #expect(registry.abandonJoin(channel: "c") == false)
        #expect(registry.info() == [:])
        #expect(registry.beginJoin(a.id, channel: "c", pattern: "*") == .subscribe)
    }

    @Test("a batch of messages reaches each socket in order, when dispatched")
    func batch() {
        let registry = ChannelRegistry()
        let a = RecordingSocket(1, eventLoop: loop)
        registry.attach(a)
        _ = join(registry, a, "one")
        _ = join(registry, a, "two")
        var batch = DeliveryBatch()
        for i in 0..<10 {
            registry.deliver(channel: i % 2 == 0 ? "one" : "two", event: nil, rawData: JSONValue.number(JSONNumber(i)).jsonBytes, into: &batch)
        }
        #expect(a.messages.isEmpty)
        batch.dispatch()
        #expect(a.messages.count == 10)
        #expect(a.messages.last == #"{"channel":"two","event":"","data":9}"#)
    }

    @Test("sockets on several event loops each get the message, one task per loop")
    func severalLoops() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let registry = ChannelRegistry()
        let sockets = (1...6).map { RecordingSocket(UInt64($0), eventLoop: group.next()) }
        for socket in sockets {
            registry.attach(socket)
            _ = join(registry, socket, "c")
        }
        #expect(deliver(registry, "c", nil) == 6)
        for loop in Set(sockets.map { ObjectIdentifier($0.eventLoop) }) {
            let socket = sockets.first { ObjectIdentifier($0.eventLoop) == loop }!
            try await socket.eventLoop.submit {}.get()
        }
        for socket in sockets { #expect(socket.messages.count == 1) }
    }
}
