import Logging
import NIOCore
import NIOPosix
import SwitchboardTesting
import Testing

@testable import Switchboard

/// An RPC session on a real event loop, with its replies collected in order.
final class SessionHarness: Sendable {
    let loop: any EventLoop
    let hub: Hub
    let replies = Mailbox<JSONValue>()
    let session: NIOLoopBound<RPCSession>
    let socket: RecordingSocket

    init(
        router: RPCRouter = .standard(),
        hub: Hub? = nil,
        id: UInt64 = 1,
        codec: any RPCCodec = StreamCodec(),
        configuration: RPCSession.Configuration = .init(),
        identity: Identity = .anonymous,
        access: AccessPolicy = .open
    ) async throws {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        self.loop = loop
        let hub = hub ?? Self.makeHub(loop: loop)
        self.hub = hub
        let replies = self.replies
        let socket = RecordingSocket(id, eventLoop: loop, format: codec.messageFormat)
        self.socket = socket
        session = try await loop.submit {
            hub.connect(socket)
            let session = RPCSession(
                codec: codec,
                router: router,
                hub: hub,
                socketID: socket.id,
                identity: identity,
                access: access,
                eventLoop: loop,
                logger: TestNode.logger(),
                configuration: configuration,
                send: { buffer in replies.put(try! JSONValue(parsing: String(buffer: buffer))) }
            )
            return NIOLoopBound(session, eventLoop: loop)
        }.get()
    }

    /// A hub on a local broker, with its queued work running.
    static func makeHub(loop: any EventLoop) -> Hub {
        let hub = Hub(backend: LocalBroker(eventLoop: loop))
        Task { await hub.run() }
        return hub
    }

    func send(_ text: String) {
        let session = self.session
        loop.execute { session.value.receive(text: ByteBuffer(string: text)) }
    }

    func reply() async throws -> JSONValue {
        try #require(await replies.take(timeout: .seconds(5)))
    }

    /// The next `count` replies, by their integer id (for protocols that answer as requests complete).
    func replies(_ count: Int) async throws -> [Int: JSONValue] {
        var byID: [Int: JSONValue] = [:]
        for _ in 0..<count {
            let reply = try await reply()
            byID[try #require(reply["id"]?.intValue, "\(reply)")] = reply
        }
        return byID
    }

    /// Runs `body` with the session on its loop.
    func withSession<T: Sendable>(_ body: @escaping @Sendable (RPCSession) -> T) async throws -> T {
        let session = self.session
        return try await loop.submit { body(session.value) }.get()
    }
}

@Suite("RPC session")
struct RPCSessionTests {
    @Test("replies come in request order, whatever each method's speed")
    func order() async throws {
        var router = RPCRouter.standard()
        router.register("slow") { (payload: JSONObject, context: RPCContext) async throws -> JSONValue in
            try await Task.sleep(for: .milliseconds(50))
            return "slow"
        }
        let harness = try await SessionHarness(router: router)
        harness.send(#"{"id":"1","method":"slow"}"#)
        harness.send(#"{"id":"2","method":"info"}"#)
        harness.send("not json")
        harness.send(#"{"id":"4","method":"nope"}"#)
        harness.send(#"{"id":"5","method":"publish","payload":{"channel":"c","data":"x"}}"#)
        #expect(try await harness.reply()["id"] == "1")
        #expect(try await harness.reply()["id"] == "2")
        #expect(try await harness.reply() == ["error": ["message": "JSON string expected"]])
        #expect(try await harness.reply()["error"]?["errors"] == ["method": "nope method not available"])
        #expect(try await harness.reply()["response"] == ["channel": "c", "event": nil, "data": "x"])
    }

    @Test("a request after a subscribe waits for it: the socket gets its own message")
    func subscribeThenPublish() async throws {
        let harness = try await SessionHarness()
        harness.send(#"{"id":"s","method":"subscribe","payload":{"channel":"c"}}"#)
        harness.send(#"{"id":"p","method":"publish","payload":{"channel":"c","data":[1]}}"#)
        #expect(try await harness.reply()["response"] == ["subscribed": ["c": ["*"]]])
        #expect(try await harness.reply()["id"] == "p")
        try await harness.loop.submit {}.get()
        #expect(harness.socket.messages == [#"{"channel":"c","event":"","data":[1]}"#])
    }

    @Test("errors thrown by methods: RPCError as is, broker refusals mapped, others hidden")
    func methodErrors() async throws {
        struct Boom: Error {}
        var router = RPCRouter.standard()
        router.register("boom") { (_: JSONObject, _: RPCContext) async throws -> JSONValue in throw Boom() }
        router.register("custom") { (_: JSONObject, _: RPCContext) async throws -> JSONValue in
            throw RPCError.invalidParameter("x", "required")
        }
        let harness = try await SessionHarness(router: router)
        harness.send(#"{"id":"1","method":"boom"}"#)
        harness.send(#"{"id":"2","method":"custom"}"#)
        harness.send(#"{"id":"3","method":"publish","payload":{"channel":"bad channel","data":"x"}}"#)
        harness.send(#"{"id":"4","method":"subscribe","payload":{"channel":"bad channel"}}"#)
        harness.send(#"{"id":"5","method":"unsubscribe","payload":{"channel":"never"}}"#)
        #expect(try await harness.reply() == ["error": ["message": "Internal server error"], "id": "1", "method": "boom"])
        #expect(try await harness.reply()["error"] == ["message": "Invalid RPC parameters", "errors": ["x": "required"]])
        #expect(try await harness.reply()["error"]?["errors"] == ["channel": "Cannot publish to channel"])
        #expect(try await harness.reply()["error"]?["errors"] == ["channel": "Invalid channel"])
        #expect(try await harness.reply()["error"]?["errors"] == ["channel": "Invalid channel"])
    }

    @Test("typed methods validate their payload with every failing field")
    func typedMethod() async throws {
        struct Add: Codable, Sendable {
            var a: Int
            var b: Int
        }
        var router = RPCRouter()
        router.register("add") { (payload: Add, _: RPCContext) async throws -> Int in payload.a + payload.b }
        let harness = try await SessionHarness(router: router)
        harness.send(#"{"id":"1","method":"add","payload":{"a":2,"b":40}}"#)
        harness.send(#"{"id":"2","method":"add","payload":{"a":"2"}}"#)
        #expect(try await harness.reply()["response"] == 42)
        #expect(try await harness.reply()["error"]?["errors"] == ["a": "not valid type", "b": "required"])
    }

    @Test("publish payload validation reports every field", arguments: [
        (#"{}"#, #"{"data":"required","channel":"required"}"#),
        (#"{"channel":"abc"}"#, #"{"data":"required"}"#),
        (#"{"channel":["abc"],"data":5,"event":{}}"#, #"{"data":"not valid type","channel":"not valid type","event":"not valid type"}"#),
        (#"{"channel":"bad channel","data":true}"#, #"{"data":"not valid type"}"#),
    ])
    func publishValidation(_ payload: String, _ errors: String) async throws {
        let harness = try await SessionHarness()
        harness.send(#"{"id":"p","method":"publish","payload":\#(payload)}"#)
        #expect(try await harness.reply()["error"]?["errors"] == (try JSONValue(parsing: errors)))
    }

    @Test("a transport that closes the session while its replies are sent (a write that fails) ends the session quietly")
    func closedWhileSending() async throws {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let sent = try await loop.submit { () -> Int in
            let hub = SessionHarness.makeHub(loop: loop)
            let box = NIOLoopBoundBox<RPCSession?>(nil, eventLoop: loop)
            var sent = 0
            let session = RPCSession(
                router: .standard(), hub: hub, socketID: SocketID(rawValue: 1), eventLoop: loop, logger: TestNode.logger(),
                send: { _ in
                    sent += 1
                    box.value?.close()  // as the WebSocket handler does when the channel goes inactive mid-write
                }
            )
            box.value = session
            // Three replies ready in one pass: the first send closes the session.
            session.receive(text: ByteBuffer(string: #"[{"id":"1","method":"info"}]"#))
            session.receive(text: ByteBuffer(string: "not json"))
            session.receive(text: ByteBuffer(string: "nor this"))
            return sent
        }.get()
        #expect(sent == 1)
    }

    @Test("a closed session is let go, and a request's socket that outlives it finds it gone")
    func closedSessionIsReleased() async throws {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let (released, socket) = try await loop.submit { () -> (Bool, RPCSocket) in
            let hub = SessionHarness.makeHub(loop: loop)
            var session: RPCSession? = RPCSession(
                codec: JSONRPCCodec(), router: .standard(), hub: hub, socketID: SocketID(rawValue: 7), eventLoop: loop, logger: TestNode.logger(),
                send: { _ in }
            )
            weak let weakSession = session
            // What a method keeps: the request's socket (it holds the session's link).
            let socket = session!.socket
            session!.close()
            session = nil
            return (weakSession == nil, socket)
        }.get()
        #expect(released)
        await #expect(throws: RPCError.connectionClosed) { try await socket.call("ping") }
    }
}
