import NIOCore
import NIOWebSocket
import Switchboard
import SwitchboardServer
import SwitchboardTesting
import Testing

@Suite("Per-message deflate")
struct CompressionTests {
    @Test("large messages arrive compressed for sockets that asked, plain for the others")
    func sharedFrames() async throws {
        let node = try await TestNode.start()
        let compressed = try await RawWebSocket.connect(node.url, compression: true)
        let plain = try await RawWebSocket.connect(node.url)
        for socket in [compressed, plain] {
            _ = try await socket.call(["id": "s", "method": "subscribe", "payload": ["channel": "z"]])
        }
        let big = JSONValue.string(String(repeating: "switchboard ", count: 500))
        let publisher = try await RawWebSocket.connect(node.url)
        _ = try await publisher.call(["id": "p", "method": "publish", "payload": ["channel": "z", "data": big]])
        let expected: JSONValue = ["channel": "z", "event": "", "data": big]
        guard case .text(let text, let wasCompressed) = try await compressed.next() else { Issue.record("no message"); return }
        #expect(wasCompressed)
        #expect(try JSONValue(parsing: text) == expected)
        guard case .text(let plainText, let plainCompressed) = try await plain.next() else { Issue.record("no message"); return }
        #expect(!plainCompressed)
        #expect(try JSONValue(parsing: plainText) == expected)

        _ = try await publisher.call(["id": "p", "method": "publish", "payload": ["channel": "z", "data": "small"]])
        guard case .text(_, let smallCompressed) = try await compressed.next() else { Issue.record("no message"); return }
        #expect(!smallCompressed)
        await node.stop()
    }

    @Test("compressed requests are inflated; a compressed bomb past the limit closes with 1009")
    func inboundDeflate() async throws {
        let node = try await TestNode.start(configuration: NodeConfiguration(port: 0, stream: StreamConfiguration(maxMessageSize: 64 * 1024)))
        let socket = try await RawWebSocket.connect(node.url, compression: true)
        let request = #"{"id":"z","method":"info","pad":"\#(String(repeating: "a", count: 2000))"}"#
        try await socket.send(frame: WebSocketFrame(fin: true, rsv1: true, opcode: .text, data: Deflate.raw(request)))
        #expect(try await socket.nextJSON()["id"] == "z")
        let bomb = String(repeating: "a", count: 1024 * 1024)
        try await socket.send(frame: WebSocketFrame(fin: true, rsv1: true, opcode: .text, data: Deflate.raw(bomb)))
        #expect(try await socket.closeCode() == 1009)
        await node.stop()
    }

    @Test("compression off: no extension is negotiated")
    func off() async throws {
        let node = try await TestNode.start(configuration: NodeConfiguration(port: 0, stream: StreamConfiguration(compression: false)))
        let socket = try await RawWebSocket.connect(node.url, compression: true)
        _ = try await socket.call(["id": "s", "method": "subscribe", "payload": ["channel": "z"]])
        _ = try await socket.send(json: ["id": "p", "method": "publish", "payload": ["channel": "z", "data": .string(String(repeating: "x", count: 5000))]])
        for _ in 0..<2 {
            guard case .text(_, let compressed) = try await socket.next() else { Issue.record("no message"); return }
            #expect(!compressed)
        }
        try await socket.send(frame: WebSocketFrame(fin: true, rsv1: true, opcode: .text, data: Deflate.raw(String(repeating: "{}", count: 500))))
        #expect(try await socket.closeCode() == 1002)
        await node.stop()
    }
}
