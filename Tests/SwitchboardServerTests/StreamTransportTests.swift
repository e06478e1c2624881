import NIOCore
import NIOWebSocket
import Switchboard
import SwitchboardServer
import SwitchboardTesting
import Testing

@Suite("/stream transport")
struct StreamTransportTests {
    static func node(maxMessageSize: Int = 64 * 1024) async throws -> TestNode {
        try await TestNode.start(configuration: NodeConfiguration(port: 0, stream: StreamConfiguration(maxMessageSize: maxMessageSize)))
    }

    @Test("binary frames get an error reply and the socket stays open")
    func binary() async throws {
        let node = try await Self.node()
        let socket = try await RawWebSocket.connect(node.url)
        try await socket.send(frame: WebSocketFrame(fin: true, opcode: .binary, data: ByteBuffer(string: "{}")))
        #expect(try await socket.nextJSON() == ["error": ["message": "Binary messages are not supported"]])
        #expect(try await socket.call(["id": "i", "method": "info"])["id"] == "i")
        await socket.close()
        await node.stop()
    }

    @Test("fragmented messages are reassembled")
    func fragments() async throws {
        let node = try await Self.node()
        let socket = try await RawWebSocket.connect(node.url)
        let text = #"{"id":"frag","method":"info"}"#
        let parts = [text.prefix(5), text.dropFirst(5).prefix(10), text.dropFirst(15)]
        try await socket.send(frame: WebSocketFrame(fin: false, opcode: .text, data: ByteBuffer(string: String(parts[0]))))
        try await socket.send(frame: WebSocketFrame(fin: true, opcode: .ping, data: ByteBuffer(string: "mid")))
        try await socket.send(frame: WebSocketFrame(fin: false, opcode: .continuation, data: ByteBuffer(string: String(parts[1]))))
        try await socket.send(frame: WebSocketFrame(fin: true, opcode: .continuation, data: ByteBuffer(string: String(parts[2]))))
        #expect(try await socket.next() == .pong(ByteBuffer(string: "mid")))
        #expect(try await socket.nextJSON()["id"] == "frag")
        await socket.close()
        await node.stop()
    }

    @Test("a message at the limit is served; one byte more closes with 1009, other sockets unaffected")
    func sizeLimit() async throws {
        let limit = 64 * 1024
        let node = try await Self.node(maxMessageSize: limit)
        let bystander = try await RawWebSocket.connect(node.url)
        let socket = try await RawWebSocket.connect(node.url)
        let prefix = #"{"id":"big","method":"info","pad":""#
        let exact = prefix + String(repeating: "x", count: limit - prefix.utf8.count - 2) + #""}"#
        #expect(exact.utf8.count == limit)
        #expect(try await socket.call(try JSONValue(parsing: exact))["id"] == "big")
        try await socket.send(exact + " ")
        #expect(try await socket.closeCode() == 1009)
        #expect(try await bystander.call(["id": "i", "method": "info"])["id"] == "i")
        await bystander.close()
        await node.stop()
    }

    @Test("fragments adding up past the limit close with 1009")
    func fragmentedTooBig() async throws {
        let node = try await Self.node(maxMessageSize: 16 * 1024)
        let socket = try await RawWebSocket.connect(node.url)
        let chunk = ByteBuffer(string: String(repeating: "x", count: 8 * 1024))
        try await socket.send(frame: WebSocketFrame(fin: false, opcode: .text, data: chunk))
        try await socket.send(frame: WebSocketFrame(fin: false, opcode: .continuation, data: chunk))
        try await socket.send(frame: WebSocketFrame(fin: true, opcode: .continuation, data: chunk))
        #expect(try await socket.closeCode() == 1009)
        await node.stop()
    }

    @Test("pings get pongs with the same payload")
    func ping() async throws {
        let node = try await Self.node()
        let socket = try await RawWebSocket.connect(node.url)
        try await socket.send(frame: WebSocketFrame(fin: true, opcode: .ping, data: ByteBuffer(string: "hello")))
        #expect(try await socket.next() == .pong(ByteBuffer(string: "hello")))
        await socket.close()
        await node.stop()
    }

    @Test("a client's close code is echoed")
    func closeEcho() async throws {
        let node = try await Self.node()
        let socket = try await RawWebSocket.connect(node.url)
        var data = ByteBuffer()
        data.writeInteger(UInt16(4001))
        try await socket.send(frame: WebSocketFrame(fin: true, opcode: .connectionClose, data: data))
        #expect(try await socket.closeCode() == 4001)
        await node.stop()
    }

    @Test("a continuation without a start, or a reserved bit, is a protocol error (1002)")
    func protocolErrors() async throws {
        let node = try await Self.node()
        let first = try await RawWebSocket.connect(node.url)
        try await first.send(frame: WebSocketFrame(fin: true, opcode: .continuation, data: ByteBuffer(string: "x")))
        #expect(try await first.closeCode() == 1002)
        let second = try await RawWebSocket.connect(node.url)
        try await second.send(frame: WebSocketFrame(fin: true, rsv2: true, opcode: .text, data: ByteBuffer(string: "{}")))
        #expect(try await second.closeCode() == 1002)
        await node.stop()
    }

    @Test("shutdown sends 1001 to every socket")
    func shutdown() async throws {
        let node = try await Self.node()
        let sockets = try await [RawWebSocket.connect(node.url), RawWebSocket.connect(node.url)]
        _ = try await sockets[0].call(["id": "s", "method": "subscribe", "payload": ["channel": "c"]])
        await node.stop()
        for socket in sockets { #expect(try await socket.closeCode() == 1001) }
    }

    @Test("an unknown path refuses the upgrade")
    func wrongPath() async throws {
        let node = try await Self.node()
        await #expect(throws: (any Error).self) { try await RawWebSocket.connect("ws://127.0.0.1:\(node.port)/other") }
        await node.stop()
    }

    @Test("a burst of pipelined publishes: every reply and message arrives whole and in order, small and large frames mixed")
    func burst() async throws {
        let node = try await Self.node(maxMessageSize: 256 * 1024)
        let socket = try await RawWebSocket.connect(node.url)
        _ = try await socket.call(["id": "s", "method": "subscribe", "payload": ["channel": "burst"]])
        // Replies and messages of one read go out joined into one write (up to 64 KiB): small
        // frames share a write, 30 KB ones split it.
        let count = 200
        func data(_ index: Int) -> String {
            String(repeating: String(UnicodeScalar(UInt8(97 + index % 26))), count: index % 3 == 0 ? 30_000 : 10 + index)
        }
        for index in 0..<count {
            try await socket.send(json: ["id": .string("\(index)"), "method": "publish", "payload": ["channel": "burst", "event": "e", "data": .string(data(index))]])
        }
        var replies: [String] = []
        var messages: [String] = []
        while replies.count < count || messages.count < count {
            let value = try await socket.nextJSON()
            if case .string(let id) = value["id"] {
                #expect(value["response"]?["data"] == .string(data(Int(id) ?? -1)))
                replies.append(id)
            } else {
                messages.append(value["data"]?.stringValue ?? "")
            }
        }
        #expect(replies == (0..<count).map { "\($0)" })
        #expect(messages == (0..<count).map(data))
        await socket.close()
        await node.stop()
    }
}
