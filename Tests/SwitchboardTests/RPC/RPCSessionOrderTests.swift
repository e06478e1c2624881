import NIOCore
import SwitchboardTesting
import Testing

@testable import Switchboard

/// What each protocol keeps in order: `/stream` answers in request order; JSON-RPC and wsrpc
/// answer each request as it completes (a slow method holds no later reply), a batch in one
/// array; on every protocol a socket's publishes reach subscribers in the order they were sent.
@Suite("RPC session: reply order")
struct RPCSessionOrderTests {
    /// The built-ins and `sleep`; JSON-RPC sockets also get the topic methods, as on a node.
    static func methods(for codec: any RPCCodec = StreamCodec()) -> RPCRouter {
        var router = RPCRouter.standard()
        if codec is JSONRPCCodec { router.merge(.jsonRPC(topics: TopicCatalog(["t"]))) }
        router.register("sleep", parameters: ["ms"]) { (payload: JSONObject, _: RPCContext) async throws -> JSONValue in
            try await Task.sleep(for: .milliseconds(payload["ms"]?.intValue ?? 0))
            return "slept"
        }
        return router
    }

    @Test("JSON-RPC: a request after a slow one is answered first")
    func jsonRPCNoHeadOfLine() async throws {
        let harness = try await SessionHarness(router: Self.methods(for: JSONRPCCodec()), codec: JSONRPCCodec())
        harness.send(#"{"jsonrpc":"2.0","id":1,"method":"sleep","params":[2000]}"#)
        harness.send(#"{"jsonrpc":"2.0","id":2,"method":"get_topics"}"#)
        harness.send(#"{"jsonrpc":"2.0","id":3,"method":"nope"}"#)
        harness.send("not json")
        #expect(try await harness.reply() == ["jsonrpc": "2.0", "id": 2, "result": ["t"]])
        #expect(try await harness.reply() == ["jsonrpc": "2.0", "error": ["code": -32601, "message": "Method not found"], "id": 3])
        #expect(try await harness.reply() == ["jsonrpc": "2.0", "error": ["code": -32700, "message": "Invalid JSON was received"]])
        #expect(try await harness.withSession { $0.pendingCount } == 1)
        #expect(try await harness.reply() == ["jsonrpc": "2.0", "id": 1, "result": "slept"])
    }

    @Test("wsrpc: a request after a slow one is answered first")
    func wsrpcNoHeadOfLine() async throws {
        let harness = try await SessionHarness(router: Self.methods(), codec: WSRPCCodec())
        harness.send(#"{"id":1,"method":"sleep","params":{"ms":2000}}"#)
        harness.send(#"{"id":3,"method":"session"}"#)
        #expect(try await harness.reply()["id"] == 3)
        #expect(try await harness.reply() == ["id": 1, "result": "slept"])
    }

    @Test("/stream keeps request order behind a slow request")
    func streamInOrder() async throws {
        let harness = try await SessionHarness(router: Self.methods())
        harness.send(#"{"id":"1","method":"sleep","payload":{"ms":100}}"#)
        harness.send(#"{"id":"2","method":"info"}"#)
        #expect(try await harness.reply()["id"] == "1")
        #expect(try await harness.reply()["id"] == "2")
    }

    @Test("a batch with a slow entry is still one array in request order, and later requests pass it")
    func batchWithSlowEntry() async throws {
        let harness = try await SessionHarness(router: Self.methods(for: JSONRPCCodec()), codec: JSONRPCCodec())
        harness.send(#"[{"jsonrpc":"2.0","id":1,"method":"sleep","params":[300]},{"jsonrpc":"2.0","id":2,"method":"get_topics"}]"#)
        harness.send(#"{"jsonrpc":"2.0","id":3,"method":"get_subscriptions"}"#)
        #expect(try await harness.reply() == ["jsonrpc": "2.0", "id": 3, "result": []])
        #expect(try await harness.reply() == [["jsonrpc": "2.0", "id": 1, "result": "slept"], ["jsonrpc": "2.0", "id": 2, "result": ["t"]]])
    }

    @Test("a batch over the limit is answered with one Invalid request error and runs nothing")
    func batchLimit() async throws {
        let harness = try await SessionHarness(router: Self.methods(for: JSONRPCCodec()), codec: JSONRPCCodec())
        let entries = (0..<101).map { #"{"jsonrpc":"2.0","id":\#($0),"method":"publish","params":["b",[\#($0)]]}"# }
        harness.send("[" + entries.joined(separator: ",") + "]")
        #expect(try await harness.reply() == ["jsonrpc": "2.0", "error": ["code": -32600, "message": "Invalid request"]])
        let full = (0..<100).map { #"{"jsonrpc":"2.0","id":\#($0),"method":"get_topics"}"# }
        harness.send("[" + full.joined(separator: ",") + "]")
        #expect(try await harness.reply().arrayValue?.count == 100)
    }

    @Test("JSON-RPC ignores a binary frame: no reply without an id")
    func binaryIgnored() async throws {
        let harness = try await SessionHarness(router: Self.methods(for: JSONRPCCodec()), codec: JSONRPCCodec())
        try await harness.withSession { $0.receiveBinary() }
        harness.send(#"{"jsonrpc":"2.0","id":1,"method":"get_topics"}"#)
        #expect(try await harness.reply()["id"] == 1)
    }

    @Test("publishes of one socket are delivered in the order sent, with slow requests between them", arguments: ["jsonrpc", "wsrpc", "stream"])
    func publishOrder(_ protocolName: String) async throws {
        let codec: any RPCCodec = switch protocolName {
        case "jsonrpc": JSONRPCCodec()
        case "wsrpc": WSRPCCodec()
        default: StreamCodec()
        }
        let subscriber = try await SessionHarness(router: Self.methods(), id: 7)
        let publisher = try await SessionHarness(router: Self.methods(for: codec), hub: subscriber.hub, id: 8, codec: codec)
        subscriber.send(#"{"id":"s","method":"subscribe","payload":{"channel":"order"}}"#)
        #expect(try await subscriber.reply()["response"] == ["subscribed": ["order": ["*"]]])
        for n in 0..<200 {
            let request = switch protocolName {
            case "jsonrpc": n % 50 == 0 ? #"{"jsonrpc":"2.0","id":\#(n),"method":"sleep","params":[20]}"# : #"{"jsonrpc":"2.0","id":\#(n),"method":"publish","params":["order",[\#(n)]]}"#
            case "wsrpc": n % 50 == 0 ? #"{"id":\#(n),"method":"sleep","params":{"ms":20}}"# : #"{"id":\#(n),"method":"publish","params":{"channel":"order","data":[\#(n)]}}"#
            default: n % 50 == 0 ? #"{"id":"\#(n)","method":"sleep","payload":{"ms":20}}"# : #"{"id":"\#(n)","method":"publish","payload":{"channel":"order","data":[\#(n)]}}"#
            }
            publisher.send(request)
        }
        for _ in 0..<200 { _ = try await publisher.reply() }
        try await subscriber.loop.submit {}.get()
        let received = subscriber.socket.messages.compactMap { try? JSONValue(parsing: $0)["data"] }
        let expected = (0..<200).filter { $0 % 50 != 0 }.map { n -> JSONValue in [.number(JSONNumber(n))] }
        #expect(received == expected)
    }
}
