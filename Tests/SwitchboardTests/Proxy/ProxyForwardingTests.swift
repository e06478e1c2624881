import NIOCore
import Synchronization
import Testing

@testable import Switchboard

/// A backend answered in-process: it records what the node asked and answers as a test says
/// (the HTTP side, with a real Python backend, is `ProxyInteropTests`).
final class ScriptedBackend: BackendProxy {
    let calls = Mutex<[ProxyCallRequest]>([])
    let checks = Mutex<[ProxyChannelRequest]>([])
    let forwarded: @Sendable (String) -> Bool
    let answer: @Sendable (ProxyCallRequest) -> Result<JSONValue, RPCError>
    let decide: @Sendable (ProxyChannelRequest) -> Result<JSONValue?, RPCError>

    init(
        forwarded: @escaping @Sendable (String) -> Bool = { _ in true },
        answer: @escaping @Sendable (ProxyCallRequest) -> Result<JSONValue, RPCError> = { .success($0.params) },
        decide: @escaping @Sendable (ProxyChannelRequest) -> Result<JSONValue?, RPCError> = { _ in .success(nil) }
    ) {
        self.forwarded = forwarded
        self.answer = answer
        self.decide = decide
    }

    func forwards(method: String) -> Bool { forwarded(method) }

    func call(_ request: ProxyCallRequest, on eventLoop: any EventLoop) -> EventLoopFuture<JSONValue> {
        calls.withLock { $0.append(request) }
        return eventLoop.makeCompletedFuture(answer(request).mapError { $0 as any Error })
    }

    func check(_ request: ProxyChannelRequest, on eventLoop: any EventLoop) -> EventLoopFuture<JSONValue?> {
        checks.withLock { $0.append(request) }
        return eventLoop.makeCompletedFuture(decide(request).mapError { $0 as any Error })
    }
}

@Suite("Proxy: forwarding through the session")
struct ProxyForwardingTests {
    static func router(_ backend: ScriptedBackend) -> RPCRouter {
        var router = RPCRouter.standard()
        router.register("local") { (_: JSONObject, _: RPCContext) async throws -> JSONValue in "mine" }
        router.forwardUnknownMethods(to: backend)
        return router
    }

    @Test("/stream: an unknown method goes to the backend with its payload, user and protocol; the result comes back")
    func stream() async throws {
        let backend = ScriptedBackend(answer: { request in .success(["echo": request.params, "user": request.caller.user.map(JSONValue.string) ?? .null]) })
        let harness = try await SessionHarness(router: Self.router(backend), identity: Identity(userID: "alice"))
        harness.send(#"{"id":"1","method":"app.add","payload":{"a":1,"b":2}}"#)
        let reply = try await harness.reply()
        #expect(reply["response"] == ["echo": ["a": 1, "b": 2], "user": "alice"], "\(reply)")
        let call = try #require(backend.calls.withLock { $0.first })
        #expect(call.method == "app.add")
        #expect(call.caller.protocolName == "stream")
        #expect(call.caller.socket == "ws-1")
        harness.send(#"{"id":"2","method":"local","payload":{}}"#)
        #expect(try await harness.reply()["response"] == "mine")
        #expect(backend.calls.withLock { $0.count } == 1, "a method the node defines is the node's")
    }

    @Test("/stream: a backend error keeps its code and data")
    func streamError() async throws {
        let backend = ScriptedBackend(answer: { _ in .failure(.fromBackend(code: 4001, message: "Insufficient funds", data: ["balance": 3], type: nil)) })
        let harness = try await SessionHarness(router: Self.router(backend))
        harness.send(#"{"id":"1","method":"charge","payload":{}}"#)
        let reply = try await harness.reply()
        #expect(reply["error"] == ["message": "Insufficient funds", "code": 4001, "data": ["balance": 3]], "\(reply)")
    }

    @Test("JSON-RPC: positional params reach the backend as sent; a code clients refuse becomes -32000 with the code in data")
    func jsonRPC() async throws {
        let backend = ScriptedBackend(answer: { request in
            request.method == "fail"
                ? .failure(.fromBackend(code: 4001, message: "Insufficient funds", data: ["balance": 3], type: nil))
                : request.method == "fail2" ? .failure(.fromBackend(code: -32050, message: "Computer says no", data: nil, type: nil)) : .success(request.params)
        })
        let harness = try await SessionHarness(router: Self.router(backend), codec: JSONRPCCodec())
        harness.send(#"{"jsonrpc":"2.0","id":1,"method":"add","params":[1,2]}"#)
        #expect(try await harness.reply()["result"] == [1, 2])
        harness.send(#"{"jsonrpc":"2.0","id":2,"method":"fail","params":{"amount":5}}"#)
        let failed = try await harness.reply()
        #expect(failed["error"] == ["code": -32000, "message": "Insufficient funds", "data": ["code": 4001, "data": ["balance": 3]]], "\(failed)")
        harness.send(#"{"jsonrpc":"2.0","id":3,"method":"fail2"}"#)
        #expect(try await harness.reply()["error"] == ["code": -32050, "message": "Computer says no"])
        let sent = backend.calls.withLock { $0.map(\.params) }
        #expect(sent == [[1, 2], ["amount": 5], .null])
    }

    @Test("wsrpc: a backend error is an exception with its type, message, code and data")
    func wsrpc() async throws {
        let backend = ScriptedBackend(answer: { _ in .failure(.fromBackend(code: 4001, message: "Insufficient funds", data: ["balance": 3], type: "ValueError")) })
        let harness = try await SessionHarness(router: Self.router(backend), codec: WSRPCCodec())
        harness.send(#"{"id":1,"method":"charge","params":{"amount":5}}"#)
        let reply = try await harness.reply()
        #expect(reply["error"] == ["type": "ValueError", "message": "Insufficient funds", "code": 4001, "data": ["balance": 3]], "\(reply)")
    }

    @Test("a name the backend does not take is unknown, as before")
    func notForwarded() async throws {
        let backend = ScriptedBackend(forwarded: { $0.hasPrefix("app.") })
        let harness = try await SessionHarness(router: Self.router(backend))
        harness.send(#"{"id":"1","method":"other","payload":{}}"#)
        let reply = try await harness.reply()
        #expect(reply["error"]?["errors"] == ["method": "other method not available"], "\(reply)")
        #expect(backend.calls.withLock { $0.isEmpty })
    }

    static let rules = [ChannelRule(match: "room:*", subscribe: .proxy, publish: .proxy)]

    @Test("subscribe on a proxy channel: the backend's refusal is the caller's error; its yes subscribes")
    func subscribe() async throws {
        let backend = ScriptedBackend(decide: { request in
            request.channel == "room:a" ? .success(nil) : .failure(.fromBackend(code: 403, message: "not yours", data: nil, type: nil))
        })
        let access = AccessPolicy(channels: Self.rules, backend: backend)
        let harness = try await SessionHarness(router: Self.router(backend), access: access)
        harness.send(#"{"id":"1","method":"subscribe","payload":{"channel":"room:b"}}"#)
        #expect(try await harness.reply()["error"] == ["message": "not yours", "code": 403])
        harness.send(#"{"id":"2","method":"subscribe","payload":{"channel":"room:a"}}"#)
        #expect(try await harness.reply()["response"]?["subscribed"] == ["room:a": ["*"]])
        harness.send(#"{"id":"3","method":"subscribe","payload":{"channel":"lobby"}}"#)
        #expect(try await harness.reply()["response"]?["subscribed"]?["lobby"] == ["*"])
        #expect(backend.checks.withLock { $0.map(\.channel) } == ["room:b", "room:a"], "a channel without a proxy rule is not asked about")
    }

    @Test("publish on a proxy channel: the backend may rewrite the data, and the socket's publishes stay in order")
    func publish() async throws {
        let backend = ScriptedBackend(decide: { request in
            guard case .object(var object)? = request.data else { return .success(nil) }
            object["checked"] = true
            return .success(.object(object))
        })
        let access = AccessPolicy(channels: Self.rules, backend: backend)
        let harness = try await SessionHarness(router: Self.router(backend), access: access)
        harness.send(#"{"id":"0","method":"subscribe","payload":{"channel":"lobby"}}"#)
        _ = try await harness.reply()
        harness.send(#"{"id":"1","method":"publish","payload":{"channel":"room:a","data":{"n":1}}}"#)
        harness.send(#"{"id":"2","method":"publish","payload":{"channel":"lobby","data":{"n":2}}}"#)
        let first = try await harness.reply()
        #expect(first["id"] == "1")
        #expect(first["response"]?["data"] == ["n": 1, "checked": true], "\(first)")
        #expect(try await harness.reply()["id"] == "2")
        #expect(backend.checks.withLock { $0.map(\.channel) } == ["room:a"])
    }
}
