import Logging
import NIOCore
import NIOPosix
import SwitchboardTesting
import Synchronization
import Testing

@testable import Switchboard

/// The session over the JSON-RPC and wsrpc codecs: batches, notifications, positional params,
/// calls to the client.
@Suite("RPC session: protocols")
struct RPCSessionProtocolTests {
    static func jsonRPC(_ methods: RPCRouter = RPCRouter(), topics: [String] = []) async throws -> SessionHarness {
        try await SessionHarness(router: RPCRouter.standard().merging(.jsonRPC(topics: TopicCatalog(topics))).merging(methods), codec: JSONRPCCodec())
    }

    @Test("a batch is answered with one array in request order, without its notifications")
    func batch() async throws {
        var methods = RPCRouter()
        methods.register("slow") { (_: JSONObject, _: RPCContext) async throws -> JSONValue in
            try await Task.sleep(for: .milliseconds(30))
            return "slow"
        }
        let harness = try await Self.jsonRPC(methods)
        harness.send(#"""
            [{"jsonrpc":"2.0","id":"a","method":"slow"},
             {"jsonrpc":"2.0","method":"slow"},
             {"jsonrpc":"2.0","id":"c","method":"nope"},
             7,
             {"jsonrpc":"2.0","id":"e","method":"get_topics"}]
            """#)
        let reply = try await harness.reply()
        let items = try #require(reply.arrayValue)
        #expect(items.count == 4)
        #expect(items[0] == ["jsonrpc": "2.0", "id": "a", "result": "slow"])
        #expect(items[1]["error"]?["code"] == -32601)
        #expect(items[1]["id"] == "c")
        #expect(items[2]["error"]?["code"] == -32600)
        #expect(items[3] == ["jsonrpc": "2.0", "id": "e", "result": []])
    }

    @Test("notifications run their method and get no reply, not even an error")
    func notifications() async throws {
        let calls = Mutex(0)
        var methods = RPCRouter()
        methods.register("count") { (_: JSONObject, _: RPCContext) async throws -> JSONValue in
            calls.withLock { $0 += 1 }
            return nil
        }
        let harness = try await Self.jsonRPC(methods)
        harness.send(#"{"jsonrpc":"2.0","method":"count"}"#)
        harness.send(#"{"jsonrpc":"2.0","method":"no_such_method"}"#)
        harness.send(#"[{"jsonrpc":"2.0","method":"count"},{"jsonrpc":"2.0","method":"count","id":null}]"#)
        harness.send(#"{"jsonrpc":"2.0","id":9,"method":"get_subscriptions"}"#)
        // The next reply is the request's: the notifications before it sent nothing.
        #expect(try await harness.reply() == ["jsonrpc": "2.0", "id": 9, "result": []])
        #expect(await eventually { calls.withLock { $0 } == 3 })
    }

    @Test("a method registered once takes its parameters by name or by position")
    func positional() async throws {
        struct Order: Codable, Sendable {
            var item: String
            var quantity: Int
        }
        var methods = RPCRouter()
        methods.register("order", parameters: ["item", "quantity"]) { (order: Order, _: RPCContext) async throws -> JSONValue in
            .string("\(order.quantity) \(order.item)")
        }
        let harness = try await Self.jsonRPC(methods)
        harness.send(#"{"jsonrpc":"2.0","id":1,"method":"order","params":{"item":"tea","quantity":2}}"#)
        harness.send(#"{"jsonrpc":"2.0","id":2,"method":"order","params":["tea",3]}"#)
        harness.send(#"{"jsonrpc":"2.0","id":3,"method":"order","params":["tea"]}"#)
        harness.send(#"{"jsonrpc":"2.0","id":4,"method":"order","params":["tea",1,2]}"#)
        harness.send(#"{"jsonrpc":"2.0","id":5,"method":"publish","params":["news",{"x":1},"e"]}"#)
        // Replies go out as each is ready: keyed by id.
        let replies = try await harness.replies(5)
        #expect(replies[1]?["result"] == "2 tea")
        #expect(replies[2]?["result"] == "3 tea")
        #expect(replies[3]?["error"] == ["code": -32602, "message": "Invalid params"])
        #expect(replies[4]?["result"] == "1 tea", "positions past the last name are dropped")
        #expect(replies[5]?["result"] == ["channel": "news", "event": "e", "data": ["x": 1]])
    }

    @Test("an RPCError a method throws keeps its server-defined code and message")
    func serverDefined() async throws {
        var methods = RPCRouter()
        methods.register("no") { (_: JSONObject, _: RPCContext) async throws -> JSONValue in
            throw RPCError(code: -32050, message: "Computer says no.")
        }
        let harness = try await Self.jsonRPC(methods)
        harness.send(#"{"jsonrpc":"2.0","id":1,"method":"no"}"#)
        #expect(try await harness.reply() == ["jsonrpc": "2.0", "error": ["code": -32050, "message": "Computer says no."], "id": 1])
        let stream = try await SessionHarness(router: methods)
        stream.send(#"{"id":"1","method":"no"}"#)
        #expect(try await stream.reply() == ["error": ["message": "Computer says no."], "id": "1", "method": "no"])
    }

    @Test("a method can call its client; requests after it are served while it waits")
    func callTheClient() async throws {
        var methods = RPCRouter()
        methods.register("area") { (payload: JSONObject, context: RPCContext) async throws -> JSONValue in
            let product = try await context.socket.call("multiply", params: .object(payload))
            return ["area": product]
        }
        let harness = try await Self.jsonRPC(methods)
        harness.send(#"{"jsonrpc":"2.0","id":1,"method":"area","params":{"x":6,"y":7}}"#)
        let call = try await harness.reply()
        #expect(call["method"] == "multiply")
        #expect(call["params"] == ["x": 6, "y": 7])
        let serial = try #require(call["id"]?.intValue)
        // The client asks something before it answers: it is not stuck behind `area`.
        harness.send(#"{"jsonrpc":"2.0","id":2,"method":"get_topics"}"#)
        #expect(try await harness.reply() == ["jsonrpc": "2.0", "id": 2, "result": []])
        harness.send(#"{"jsonrpc":"2.0","id":\#(serial),"result":42}"#)
        #expect(try await harness.reply() == ["jsonrpc": "2.0", "id": 1, "result": ["area": 42]])
        #expect(try await harness.withSession { $0.pendingCallCount } == 0)
    }

    @Test("a call the client answers with an error, or not at all, fails in the method")
    func callFailures() async throws {
        var methods = RPCRouter()
        methods.register("ask") { (payload: JSONObject, context: RPCContext) async throws -> JSONValue in
            do {
                _ = try await context.socket.call("question", timeout: .milliseconds(payload["timeout_ms"]?.intValue ?? 5000))
                return "answered"
            } catch let error as RPCError {
                return .string(error.message)
            }
        }
        let harness = try await Self.jsonRPC(methods)
        harness.send(#"{"jsonrpc":"2.0","id":1,"method":"ask"}"#)
        let serial = try #require(try await harness.reply()["id"]?.intValue)
        harness.send(#"{"jsonrpc":"2.0","id":\#(serial),"error":{"code":-32601,"message":"Method not found"}}"#)
        #expect(try await harness.reply()["result"] == "Method not found")
        harness.send(#"{"jsonrpc":"2.0","id":2,"method":"ask","params":{"timeout_ms":50}}"#)
        _ = try await harness.reply()  // the call, left unanswered
        #expect(try await harness.reply()["result"] == "the client did not answer question within 0.05 s")
    }

    @Test("calls to the client are bounded per socket; /stream has none")
    func callBounds() async throws {
        var methods = RPCRouter()
        methods.register("ask") { (_: JSONObject, context: RPCContext) async throws -> JSONValue in
            _ = try await context.socket.call("question", timeout: .seconds(30))
            return nil
        }
        let harness = try await Self.jsonRPC(methods)
        let limit = RPCSession.Configuration().maxPendingCalls
        for id in 0..<(limit + 1) { harness.send(#"{"jsonrpc":"2.0","id":\#(id),"method":"ask"}"#) }
        var calls = 0
        var refused: JSONValue?
        while refused == nil {
            let message = try await harness.reply()
            if message["method"] == "question" { calls += 1 } else { refused = message }
        }
        #expect(calls == limit)
        #expect(refused?["error"]?["message"] == .string("too many calls to the client in flight (at most \(limit) per socket)"))
        let stream = try await SessionHarness(router: methods)
        stream.send(#"{"id":"1","method":"ask"}"#)
        #expect(try await stream.reply()["error"]?["message"] == "the stream protocol has no calls to the client")
        // Closing the socket fails the calls still waiting.
        #expect(try await harness.withSession { session in
            session.close()
            return session.pendingCallCount
        } == 0)
    }

    @Test("topics: subscribe takes a topic or a list, leaves out undeclared ones, and gets the topic's state first")
    func topics() async throws {
        let harness = try await Self.jsonRPC(topics: ["news", "rooms:*"])
        harness.hub.channels.use(features: ChannelFeatureTable(stateTopics: TopicCatalog(["news", "rooms:*"])))
        harness.send(#"{"jsonrpc":"2.0","id":0,"method":"publish","params":{"channel":"elsewhere","data":[1],"state":true}}"#)
        #expect(try await harness.reply()["error"]?["code"] == -32602, "a channel that keeps no state")
        harness.send(#"{"jsonrpc":"2.0","id":1,"method":"publish","params":{"channel":"news","data":{"v":1},"state":true}}"#)
        #expect(try await harness.reply()["result"] == ["channel": "news", "event": nil, "data": ["v": 1]])
        harness.send(#"{"jsonrpc":"2.0","id":2,"method":"subscribe","params":["news","rooms:1","secret","bad channel"]}"#)
        #expect(try await harness.reply() == ["jsonrpc": "2.0", "method": "news", "params": ["v": 1]])
        #expect(try await harness.reply() == ["jsonrpc": "2.0", "id": 2, "result": ["news", "rooms:1"]])
        harness.send(#"{"jsonrpc":"2.0","id":3,"method":"get_topics"}"#)
        #expect(try await harness.reply()["result"] == ["news", "rooms:*"])
        harness.send(#"{"jsonrpc":"2.0","id":4,"method":"unsubscribe","params":"news"}"#)
        #expect(try await harness.reply()["result"] == ["rooms:1"])
        harness.send(#"{"jsonrpc":"2.0","id":5,"method":"get_methods"}"#)
        let methods = try #require(try await harness.reply()["result"]?.arrayValue)
        #expect(methods == ["get_methods", "get_subscriptions", "get_topics", "history", "info", "login", "logout", "presence", "presence_stats", "publish", "server_info", "session", "subscribe", "unsubscribe"])
    }
}
