import Foundation
import NIOCore
import Switchboard
import SwitchboardProcesses
import SwitchboardRedis
import SwitchboardServer
import SwitchboardTesting
import Testing

/// Calls and events to one socket from any node, through the nodes' inboxes on a real Redis.
@Suite("Calls to sockets across nodes")
struct SocketCallsAcrossNodesTests {
    /// Connects to `/wsrpc`, answers the first keepalive ping, and returns the socket and its id.
    static func wsrpc(_ node: TestNode) async throws -> (RawWebSocket, String) {
        let socket = try await RawWebSocket.connect(node.wsrpcURL)
        let ping = try await socket.nextJSON()
        try await socket.send(json: ["id": ping["id"] ?? nil, "result": ping["params"] ?? nil])
        let id = try #require(try await socket.call(["id": 3, "method": "session"])["result"]?["socket"]?.stringValue)
        return (socket, id)
    }

    /// Answers the next call the socket gets with `x * y`.
    static func answerMultiply(_ socket: RawWebSocket) async throws -> JSONValue {
        let call = try await socket.nextJSON()
        let product = (call["params"]?["x"]?.intValue ?? 0) * (call["params"]?["y"]?.intValue ?? 0)
        try await socket.send(json: ["id": call["id"] ?? nil, "result": .number(JSONNumber(product))])
        return call
    }

    @Test("POST /call on node A reaches a wsrpc and a JSON-RPC client on node B; /emit too; a gone socket or node is 404 at once")
    func acrossNodes() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        let a = try await TestNode.start(redisURL: redis.url)
        let b = try await TestNode.start(redisURL: redis.url)
        #expect(await a.waitUntilReady())
        #expect(await b.waitUntilReady())
        let (socket, id) = try await Self.wsrpc(b)
        #expect(id.hasPrefix(b.node.hub.nodeID + "."))

        async let answered = Self.answerMultiply(socket)
        let reply = try await HTTPProbe.request("POST", "/call", port: a.port, body: #"{"socket":"\#(id)","method":"multiply","params":{"x":6,"y":7},"timeout_ms":3000}"#)
        #expect(reply.status == 200)
        #expect(try JSONValue(parsing: reply.body) == ["result": 42])
        #expect(try await answered["method"] == "multiply")

        // From Swift on node A, and to a JSON-RPC client on node B (which answers with an error).
        let rpc = try await RawWebSocket.connect(b.jsonRPCURL)
        let rpcID = try #require(try await rpc.call(["jsonrpc": "2.0", "id": 1, "method": "session"])["result"]?["socket"]?.stringValue)
        async let refused: Void = {
            let call = try await rpc.nextJSON()
            try await rpc.send(json: ["jsonrpc": "2.0", "id": call["id"] ?? nil, "error": ["code": -32050, "message": "no thanks"]])
        }()
        await #expect(throws: SocketCalls.Failure.client(RPCError(code: -32050, message: "no thanks"))) {
            _ = try await a.node.hub.call(socket: rpcID, method: "confirm", params: ["q": "?"], timeout: .seconds(3))
        }
        try await refused

        let emitted = try await HTTPProbe.request("POST", "/emit", port: a.port, body: #"{"socket":"\#(id)","event":{"hello":"from A"}}"#)
        #expect(emitted.status == 200)
        #expect(try await socket.nextJSON() == ["hello": "from A"])

        // A socket that is gone, and a node that does not exist: 404 without waiting.
        await socket.close()
        let start = ContinuousClock.now
        let gone = try await HTTPProbe.request("POST", "/call", port: a.port, body: #"{"socket":"\#(id)","method":"multiply","timeout_ms":30000}"#)
        #expect(gone.status == 404)
        let nowhere = try await HTTPProbe.request("POST", "/call", port: a.port, body: #"{"socket":"no-such-node.1","method":"multiply","timeout_ms":30000}"#)
        #expect(nowhere.status == 404)
        #expect(ContinuousClock.now - start < .seconds(10), "far under the calls' 30 s timeout")
        await rpc.close()
        await a.stop()
        await b.stop()
    }

    @Test("the target's node SIGKILLed mid-call: the caller gets an error within the call's timeout, not a hang")
    func targetKilled() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        let a = try await TestNode.start(redisURL: redis.url)
        #expect(await a.waitUntilReady())
        let port = try PortReservation.freePortOutsideEphemeralRange()
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("switchboard").path
        let b = try ChildProcess(executable, ["serve", "--port", "\(port)", "--redis", redis.url, "--node-id", "doomed", "--log-level", "error"])
        defer { b.stop(grace: .milliseconds(100)) }
        #expect(await eventually { (try? await HTTPProbe.request("GET", "/readyz", port: port).status) == 200 })
        let socket = try await RawWebSocket.connect("ws://127.0.0.1:\(port)/wsrpc")
        _ = try await socket.nextJSON()  // the keepalive ping, left unanswered: it does not matter here
        let calling = Task { () -> SocketCalls.Failure? in
            do {
                _ = try await a.node.hub.call(socket: "doomed.1", method: "multiply", params: ["x": 1, "y": 2], timeout: .seconds(2))
                return nil
            } catch let failure as SocketCalls.Failure {
                return failure
            } catch {
                return nil
            }
        }
        #expect(try await socket.nextJSON()["method"] == "multiply")  // the call is at the client: mid-call
        let killedAt = ContinuousClock.now
        b.signal(SIGKILL)
        let failure = await calling.value
        #expect(failure == .timedOut(socket: "doomed.1", method: "multiply"))
        #expect(ContinuousClock.now - killedAt < .seconds(4))
        // With the node gone, the next call fails at once.
        let start = ContinuousClock.now
        await #expect(throws: SocketCalls.Failure.noSuchSocket("doomed.1")) {
            _ = try await a.node.hub.call(socket: "doomed.1", method: "multiply", timeout: .seconds(20))
        }
        #expect(ContinuousClock.now - start < .seconds(5), "far under the call's 20 s timeout")
        await a.stop()
    }
}
