import NIOCore
import NIOWebSocket
import Switchboard
import SwitchboardServer
import SwitchboardTesting
import Testing

/// `/jsonrpc` on a node, over real WebSockets: the same methods and channels as `/stream`.
@Suite("/jsonrpc route")
struct JSONRPCRouteTests {
    static func node(topics: [String] = [], methods: RPCRouter = RPCRouter()) async throws -> TestNode {
        try await TestNode.start(methods: methods, configuration: NodeConfiguration(port: 0, topics: TopicCatalog(topics)))
    }

    static func request(_ id: JSONValue, _ method: String, _ params: JSONValue? = nil) -> JSONValue {
        var object: JSONObject = ["jsonrpc": "2.0", "id": id, "method": .string(method)]
        if let params { object["params"] = params }
        return .object(object)
    }

    @Test("a /stream publish reaches /jsonrpc subscribers as a notification, and the reverse")
    func crossProtocol() async throws {
        let node = try await Self.node()
        let rpc = try await RawWebSocket.connect(node.jsonRPCURL)
        let stream = try await RawWebSocket.connect(node.url)
        #expect(try await rpc.call(Self.request(1, "subscribe", "news"))["result"] == ["news"])
        #expect(try await stream.call(["id": "s", "method": "subscribe", "payload": ["channel": "news"]])["response"] != nil)
        _ = try await stream.call(["id": "p", "method": "publish", "payload": ["channel": "news", "event": "created", "data": ["id": 1]]])
        #expect(try await rpc.nextJSON() == ["jsonrpc": "2.0", "method": "news", "params": ["id": 1]])
        #expect(try await stream.nextJSON() == ["channel": "news", "event": "created", "data": ["id": 1]])
        #expect(try await rpc.call(Self.request(2, "publish", ["news", ["id": 2]]))["result"] == ["channel": "news", "event": nil, "data": ["id": 2]])
        #expect(try await stream.nextJSON() == ["channel": "news", "event": "", "data": ["id": 2]])
        #expect(try await rpc.nextJSON() == ["jsonrpc": "2.0", "method": "news", "params": ["id": 2]])
        await rpc.close()
        await stream.close()
        await node.stop()
    }

    @Test("POST /publish reaches /jsonrpc subscribers")
    func httpPublish() async throws {
        let node = try await Self.node()
        let rpc = try await RawWebSocket.connect(node.jsonRPCURL)
        _ = try await rpc.call(Self.request(1, "subscribe", ["alerts"]))
        let response = try await HTTPProbe.request("POST", "/publish", port: node.port, body: #"{"channel":"alerts","data":"fire"}"#)
        #expect(response.status == 200)
        #expect(try await rpc.nextJSON() == ["jsonrpc": "2.0", "method": "alerts", "params": "fire"])
        await rpc.close()
        await node.stop()
    }

    @Test("declared topics: get_topics lists them; other topics are left out of subscribe")
    func declaredTopics() async throws {
        let node = try await Self.node(topics: ["news", "alerts"])
        let rpc = try await RawWebSocket.connect(node.jsonRPCURL)
        #expect(try await rpc.call(Self.request("t", "get_topics"))["result"] == ["news", "alerts"])
        #expect(try await rpc.call(Self.request("s", "subscribe", ["news", "other"]))["result"] == ["news"])
        #expect(try await rpc.call(Self.request("g", "get_subscriptions"))["result"] == ["news"])
        await rpc.close()
        await node.stop()
    }

    @Test("a topic's state reaches later subscribers of every protocol")
    func state() async throws {
        let node = try await Self.node(topics: ["score"])
        let publisher = try await RawWebSocket.connect(node.jsonRPCURL)
        _ = try await publisher.call(Self.request(1, "publish", ["channel": "score", "data": ["home": 1], "state": true]))
        _ = try await publisher.call(Self.request(2, "publish", ["channel": "score", "data": ["home": 2], "state": true]))
        let rpc = try await RawWebSocket.connect(node.jsonRPCURL)
        try await rpc.send(json: Self.request(1, "subscribe", "score"))
        #expect(try await rpc.nextJSON() == ["jsonrpc": "2.0", "method": "score", "params": ["home": 2]])
        #expect(try await rpc.nextJSON() == ["jsonrpc": "2.0", "id": 1, "result": ["score"]])
        let stream = try await RawWebSocket.connect(node.url)
        try await stream.send(json: ["id": "s", "method": "subscribe", "payload": ["channel": "score"]])
        #expect(try await stream.nextJSON() == ["channel": "score", "event": "", "data": ["home": 2]])
        #expect(try await stream.nextJSON()["response"] == ["subscribed": ["score": ["*"]]])
        await publisher.close()
        await rpc.close()
        await stream.close()
        await node.stop()
    }

    @Test("an application's method answers on both protocols, by name and by position")
    func applicationMethods() async throws {
        struct Order: Codable, Sendable {
            var item: String
            var quantity: Int
        }
        var methods = RPCRouter()
        methods.register("order", parameters: ["item", "quantity"]) { (order: Order, _: RPCContext) async throws -> JSONValue in
            if order.quantity > 9 { throw RPCError(code: -32050, message: "Computer says no.") }
            return ["total": .number(JSONNumber(order.quantity * 3))]
        }
        let node = try await Self.node(methods: methods)
        let rpc = try await RawWebSocket.connect(node.jsonRPCURL)
        let stream = try await RawWebSocket.connect(node.url)
        #expect(try await rpc.call(Self.request(1, "order", ["tea", 2]))["result"] == ["total": 6])
        #expect(try await rpc.call(Self.request(2, "order", ["item": "tea", "quantity": 3]))["result"] == ["total": 9])
        #expect(try await rpc.call(Self.request(3, "order", ["tea", 10]))["error"] == ["code": -32050, "message": "Computer says no."])
        #expect(try await stream.call(["id": "o", "method": "order", "payload": ["item": "tea", "quantity": 1]])["response"] == ["total": 3])
        #expect(try await stream.call(["id": "o", "method": "order", "payload": ["item": "tea", "quantity": 10]])["error"] == ["message": "Computer says no."])
        let methodNames = try #require(try await rpc.call(Self.request(4, "get_methods"))["result"]?.arrayValue)
        #expect(methodNames.contains("order"))
        await rpc.close()
        await stream.close()
        await node.stop()
    }

    @Test("bad input gets JSON-RPC errors and the socket keeps serving")
    func badInput() async throws {
        let node = try await Self.node()
        let rpc = try await RawWebSocket.connect(node.jsonRPCURL)
        try await rpc.send("{oops")
        #expect(try await rpc.nextJSON()["error"]?["code"] == -32700)
        try await rpc.send("[]")
        #expect(try await rpc.nextJSON()["error"]?["code"] == -32600)
        // A binary frame is ignored, as aiohttp-json-rpc ignores it: the next message is the reply to what follows.
        try await rpc.send(frame: WebSocketFrame(fin: true, opcode: .binary, data: ByteBuffer(string: "{}")))
        #expect(try await rpc.call(Self.request(1, "publish", ["channel": "news", "data": 1]))["error"] == [
            "code": -32602, "message": "Invalid params",
        ])
        #expect(try await rpc.call(Self.request(1, "publish", ["channel": "bad channel", "data": "x"]))["error"]?["data"] == [
            "channel": "Cannot publish to channel",
            "reason": .string("\(ChannelName.rule); it holds whitespace (U+20)"),
        ])
        #expect(try await rpc.call(Self.request(2, "info"))["result"]?["connections"] == 1)
        await rpc.close()
        await node.stop()
    }

    @Test("a plain GET of /jsonrpc or /wsrpc gets 405, as aiohttp answers; /stream keeps its 400")
    func plainGet() async throws {
        let node = try await Self.node()
        for path in ["/jsonrpc", "/wsrpc"] {
            let response = try await HTTPProbe.request("GET", path, port: node.port)
            #expect(response.status == 405, "\(path)")
            #expect(try JSONValue(parsing: response.body)["message"]?.stringValue?.contains("WebSocket") == true)
        }
        let stream = try await HTTPProbe.request("GET", "/stream", port: node.port)
        #expect(stream.status == 400)
        #expect(try JSONValue(parsing: stream.body) == ["message": "Unable to open websocket connection"])
        await node.stop()
    }
}
