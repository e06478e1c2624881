import NIOCore
import NIOWebSocket
import Switchboard
import SwitchboardClient
import SwitchboardServer
import SwitchboardTesting
import Testing

/// Hostile input gets what RFC 6455 and docs/security.md say, and leaves every other socket served.
@Suite("Hostile input")
struct HostileInputTests {
    @Test("text that is not UTF-8 closes with 1007; so does a close reason that is not UTF-8; a compressed ping is 1002")
    func frames() async throws {
        let node = try await TestNode.start()
        let bystander = try await RawWebSocket.connect(node.url)
        let bad = try await RawWebSocket.connect(node.url)
        try await bad.send(frame: WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(bytes: [0x7B, 0xC3, 0x28, 0x7D])))
        #expect(try await bad.closeCode() == 1007)
        let reason = try await RawWebSocket.connect(node.url)
        var payload = ByteBuffer()
        payload.writeInteger(UInt16(1000))
        payload.writeBytes([0xFF, 0xFE])
        try await reason.send(frame: WebSocketFrame(fin: true, opcode: .connectionClose, data: payload))
        #expect(try await reason.closeCode() == 1007)
        let ping = try await RawWebSocket.connect(node.url)
        try await ping.send(frame: WebSocketFrame(fin: true, rsv1: true, opcode: .ping, data: ByteBuffer(string: "x")))
        #expect(try await ping.closeCode() == 1002)
        #expect(try await bystander.call(["id": "i", "method": "info"])["response"]?["connections"] == 1)
        await bystander.close()
        await node.stop()
    }

    @Test("the heaviest patterns a socket may hold do not hold up another channel; longer ones are refused")
    func patterns() async throws {
        let node = try await TestNode.start()
        let attacker = try await RawWebSocket.connect(node.url)
        let refused = try await attacker.call(["id": "x", "method": "subscribe", "payload": ["channel": "a", "event": .string("*" + String(repeating: "a", count: 512) + "b")]])
        #expect(refused["error"]?["errors"]?["event"] == "pattern too long (at most 128 characters)")
        // Each subscribe reply lists all the socket's patterns (about 54 MB in all): sent in windows
        // of 64 and read as they come, the attacker keeps up and is not closed as a slow consumer.
        for window in stride(from: 0, to: 1024, by: 64) {
            for n in window..<(window + 64) {
                let pattern = "*" + String(repeating: "a", count: 100) + "b" + String(n)
                try await attacker.send(json: ["id": .string("\(n)"), "method": "subscribe", "payload": ["channel": "a", "event": .string(pattern)]])
            }
            for n in window..<(window + 64) {
                guard case .text(let text, _) = try await attacker.next() else { Issue.record("no reply to subscribe \(n)"); return }
                #expect(text.hasPrefix(#"{"id":"\#(n)","method":"subscribe","response":"#), "subscribe \(n) refused")
            }
        }
        let listener = try await RawWebSocket.connect(node.url)
        _ = try await listener.call(["id": "s", "method": "subscribe", "payload": ["channel": "b"]])
        let event = String(repeating: "a", count: 1024)
        for n in 0..<20 {
            try await attacker.send(json: ["id": .string("p\(n)"), "method": "publish", "payload": ["channel": "a", "event": .string(event), "data": nil]])
        }
        let publisher = try await RawWebSocket.connect(node.url)
        _ = try await publisher.call(["id": "p", "method": "publish", "payload": ["channel": "b", "data": "still here"]])
        #expect(try await listener.nextJSON(timeout: .seconds(2))["data"] == "still here")
        for _ in 0..<20 { #expect(try await attacker.nextJSON()["response"] != nil) }
        for socket in [attacker, listener, publisher] { await socket.close() }
        await node.stop()
    }

    @Test("a client call timeout under a second is kept, not rounded to zero")
    func shortCallTimeout() async throws {
        var methods = RPCRouter()
        methods.register("slow") { (_: JSONObject, _: RPCContext) async throws -> JSONValue in
            try await Task.sleep(for: .seconds(3))
            return nil
        }
        let node = try await TestNode.start(methods: methods)
        let client = try await SwitchboardClient.connect(to: node.url, configuration: ClientConfiguration(callTimeout: .milliseconds(500)))
        let started = ContinuousClock.now
        await #expect(throws: SwitchboardClientError.timedOut(method: "slow", after: .milliseconds(500))) { try await client.call("slow") }
        #expect(ContinuousClock.now - started >= .milliseconds(400))
        #expect(SwitchboardClientError.timedOut(method: "slow", after: .milliseconds(500)).description == "no reply to slow within 0.5 seconds")
        await client.close()
        await node.stop()
    }
}
