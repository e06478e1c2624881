import NIOCore
import Switchboard
import SwitchboardServer
import SwitchboardTesting
import Synchronization
import Testing

/// `/wsrpc` on a node, over real WebSockets: calls both ways, class routes, events, keepalive,
/// and `POST /call` / `POST /emit` to one socket.
@Suite("/wsrpc route")
struct WSRPCRouteTests {
    actor Counter: RPCRouteGroup {
        static let methodNames = ["add", "total"]
        private var total = 0

        func call(_ method: String, payload: JSONObject, context: RPCContext) async throws -> JSONValue {
            if method == "add" { total += payload["n"]?.intValue ?? 1 }
            return .number(JSONNumber(total))
        }
    }

    static var methods: RPCRouter {
        var methods = RPCRouter()
        methods.register("subtract", parameters: ["a", "b"]) { (payload: JSONObject, _: RPCContext) async throws -> JSONValue in
            .number(JSONNumber((payload["a"]?.intValue ?? 0) - (payload["b"]?.intValue ?? 0)))
        }
        methods.register("area") { (payload: JSONObject, context: RPCContext) async throws -> JSONValue in
            try await context.socket.call("multiply", params: .object(payload), timeout: .seconds(5))
        }
        methods.register(group: "counter") { Counter() }
        return methods
    }

    static func node(pingInterval: TimeAmount? = .seconds(30)) async throws -> TestNode {
        try await TestNode.start(methods: methods, configuration: NodeConfiguration(port: 0, stream: StreamConfiguration(pingInterval: pingInterval)))
    }

    /// Connects to `/wsrpc` and answers the node's first keepalive ping.
    static func connect(_ node: TestNode) async throws -> RawWebSocket {
        let socket = try await RawWebSocket.connect(node.wsrpcURL)
        let ping = try await socket.nextJSON()
        #expect(ping["method"] == "ping")
        try await socket.send(json: ["id": ping["id"] ?? nil, "result": ping["params"] ?? nil])
        return socket
    }

    /// A group that says when its socket closed.
    final class Watched: RPCRouteGroup {
        static let methodNames = ["hello"]
        static let closed = Mailbox<String>()
        let name = Mutex("")

        func call(_ method: String, payload: JSONObject, context: RPCContext) async throws -> JSONValue {
            name.withLock { $0 = payload["name"]?.stringValue ?? "" }
            return true
        }

        func socketClosed() async {
            Self.closed.put(name.withLock { $0 })
        }
    }

    @Test("a route group is told when its socket closes, and when the node stops with its socket open")
    func routeGroupSocketClosed() async throws {
        var methods = Self.methods
        methods.register(group: "watched") { Watched() }
        let node = try await TestNode.start(methods: methods)
        let leaving = try await Self.connect(node)
        let staying = try await Self.connect(node)
        #expect(try await leaving.call(["id": 1, "method": "watched.hello", "params": ["name": "leaving"]])["result"] == true)
        #expect(try await staying.call(["id": 1, "method": "watched.hello", "params": ["name": "staying"]])["result"] == true)
        await leaving.close()
        #expect(await Watched.closed.take(timeout: .seconds(10)) == "leaving")
        await node.stop()
        #expect(await Watched.closed.take(timeout: .seconds(10)) == "staying")
        await staying.close()
    }

    @Test("the node pings right after the upgrade; a socket that answers stays, one that does not is closed")
    func keepalive() async throws {
        let node = try await Self.node(pingInterval: .seconds(2))
        let answering = try await RawWebSocket.connect(node.wsrpcURL)
        let silent = try await RawWebSocket.connect(node.wsrpcURL)
        var pings = 0
        while pings < 2 {
            let message = try await answering.nextJSON()
            guard message["method"] == "ping" else { continue }
            pings += 1
            try await answering.send(json: ["id": message["id"] ?? nil, "result": message["params"] ?? nil])
        }
        #expect(try await silent.closeCode() == 1000)
        #expect(try await answering.call(["id": 3, "method": "session"])["result"]?["protocol"] == "wsrpc")
        await answering.close()
        await node.stop()
    }

    @Test("function routes, class routes and the node's methods answer; channel messages arrive as events")
    func routes() async throws {
        let node = try await Self.node()
        let socket = try await Self.connect(node)
        #expect(try await socket.call(["id": 3, "method": "subtract", "params": ["a": 10, "b": 3]]) == ["id": 3, "result": 7])
        #expect(try await socket.call(["id": 5, "method": "counter.add", "params": ["n": 2]]) == ["id": 5, "result": 2])
        #expect(try await socket.call(["id": 7, "method": "counter.total"]) == ["id": 7, "result": 2])
        #expect(try await socket.call(["id": 9, "method": "nope"])["error"]?["type"] == "NotImplementedError")
        #expect(try await socket.call(["id": 11, "method": "subscribe", "params": ["channel": "live"]])["result"] == ["subscribed": ["live": ["*"]]])
        let stream = try await RawWebSocket.connect(node.url)
        _ = try await stream.call(["id": "p", "method": "publish", "payload": ["channel": "live", "event": "e", "data": [1]]])
        #expect(try await socket.nextJSON() == ["channel": "live", "event": "e", "data": [1]])
        await socket.close()
        await stream.close()
        await node.stop()
    }

    @Test("a route calls back into the client while the client waits for it, and the client may call again meanwhile")
    func callBack() async throws {
        let node = try await Self.node()
        let socket = try await Self.connect(node)
        try await socket.send(json: ["id": 3, "method": "area", "params": ["x": 6, "y": 7]])
        let call = try await socket.nextJSON()
        #expect(call["method"] == "multiply")
        #expect(call["params"] == ["x": 6, "y": 7])
        // Before answering, the client calls the node again: it is served at once.
        #expect(try await socket.call(["id": 5, "method": "subtract", "params": ["a": 1, "b": 1]]) == ["id": 5, "result": 0])
        try await socket.send(json: ["id": call["id"] ?? nil, "result": 42])
        #expect(try await socket.nextJSON() == ["id": 3, "result": 42])
        await socket.close()
        await node.stop()
    }

    @Test("POST /call and POST /emit reach one socket: 200, 404 for a gone socket, 504 for a silent one, 400 for /stream")
    func httpCalls() async throws {
        let node = try await Self.node()
        let socket = try await Self.connect(node)
        let id = try #require(try await socket.call(["id": 3, "method": "session"])["result"]?["socket"]?.stringValue)
        #expect(id.hasPrefix(node.hub.nodeID + "."))
        let answering = Task {
            let call = try await socket.nextJSON()
            try await socket.send(json: ["id": call["id"] ?? nil, "result": .number(JSONNumber((call["params"]?["x"]?.intValue ?? 0) * (call["params"]?["y"]?.intValue ?? 0)))])
            return call
        }
        let ok = try await HTTPProbe.request("POST", "/call", port: node.port, body: #"{"socket":"\#(id)","method":"multiply","params":{"x":6,"y":7},"timeout_ms":3000}"#)
        #expect(ok.status == 200)
        #expect(try JSONValue(parsing: ok.body) == ["result": 42])
        #expect(try await answering.value["method"] == "multiply")

        let silent = try await HTTPProbe.request("POST", "/call", port: node.port, body: #"{"socket":"\#(id)","method":"multiply","timeout_ms":200}"#)
        #expect(silent.status == 504)
        _ = try await socket.nextJSON()  // the call it left unanswered

        let emitted = try await HTTPProbe.request("POST", "/emit", port: node.port, body: #"{"socket":"\#(id)","event":{"hello":"world"}}"#)
        #expect(emitted.status == 200)
        #expect(try await socket.nextJSON() == ["hello": "world"])

        await socket.close()
        let gone = try await HTTPProbe.request("POST", "/call", port: node.port, body: #"{"socket":"\#(id)","method":"multiply"}"#)
        #expect(gone.status == 404)
        #expect(try JSONValue(parsing: gone.body)["error"]?["message"] == .string("no socket \(id) is connected"))

        let stream = try await RawWebSocket.connect(node.url)
        let streamID = try #require(try await stream.call(["id": "s", "method": "session"])["response"]?["socket"]?.stringValue)
        let refused = try await HTTPProbe.request("POST", "/call", port: node.port, body: #"{"socket":"\#(streamID)","method":"x"}"#)
        #expect(refused.status == 400)
        let invalid = try await HTTPProbe.request("POST", "/call", port: node.port, body: #"{"method":5,"timeout_ms":0}"#)
        #expect(invalid.status == 400)
        #expect(try JSONValue(parsing: invalid.body)["error"]?["errors"] == [
            "socket": "required", "method": "not valid type", "timeout_ms": "must be an integer from 1 to 600000",
        ])
        await stream.close()
        await node.stop()
    }
}
