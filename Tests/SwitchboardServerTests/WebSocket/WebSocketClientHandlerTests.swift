import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing

@testable import SwitchboardWebSocket

@Suite("WebSocket client handler (frames read and written in place)")
struct WebSocketClientHandlerTests {
    /// What the callbacks were given.
    final class Heard: Sendable {
        let texts = NIOLockedValueBox<[String]>([])
        let pongs = NIOLockedValueBox<[String]>([])
        let closes = NIOLockedValueBox<[(UInt16?, String)]>([])
    }

    static func connection(maxMessageSize: Int = 1 << 16) throws -> (EmbeddedChannel, Heard) {
        let heard = Heard()
        let callbacks = WebSocketClientCallbacks(
            onText: { text, _ in heard.texts.withLockedValue { $0.append(String(buffer: text)) } },
            onPong: { data in heard.pongs.withLockedValue { $0.append(String(buffer: data)) } },
            onClose: { code, reason in heard.closes.withLockedValue { $0.append((code, reason)) } }
        )
        let channel = EmbeddedChannel(handler: WebSocketClientHandler(inflate: false, maxMessageSize: maxMessageSize, callbacks: callbacks))
        try channel.connect(to: .init(ipAddress: "127.0.0.1", port: 1)).wait()
        return (channel, heard)
    }

    /// A server frame: unmasked unless `mask` is given.
    static func frame(_ text: String, opcode: WebSocketFrameWriter.Opcode = .text, fin: Bool = true, mask: UInt32? = nil) -> ByteBuffer {
        let first = (fin ? 0x80 : 0) | opcode.rawValue
        return WebSocketFrameWriter.frame(ByteBuffer(string: text), first: first, maskKey: mask)
    }

    /// The frames the handler wrote, read back.
    static func written(_ channel: EmbeddedChannel) throws -> [WebSocketFrameReader.Frame] {
        var reader = WebSocketFrameReader(maxFrameSize: 1 << 16)
        while let bytes = try channel.readOutbound(as: ByteBuffer.self) { reader.append(bytes) }
        var frames: [WebSocketFrameReader.Frame] = []
        while let frame = try reader.next() { frames.append(frame) }
        return frames
    }

    @Test("messages in one read, a fragmented one among them, and a frame split across reads come out whole and in order")
    func messages() throws {
        let (channel, heard) = try Self.connection()
        var bytes = Self.frame("one")
        bytes.writeImmutableBuffer(Self.frame("tw", fin: false))
        bytes.writeImmutableBuffer(Self.frame("o", opcode: .continuation))
        let third = Self.frame(String(repeating: "3", count: 300))
        bytes.writeImmutableBuffer(third.getSlice(at: third.readerIndex, length: 7)!)
        try channel.writeInbound(bytes)
        #expect(heard.texts.withLockedValue { $0 } == ["one", "two"])
        try channel.writeInbound(third.getSlice(at: third.readerIndex + 7, length: third.readableBytes - 7)!)
        #expect(heard.texts.withLockedValue { $0 } == ["one", "two", String(repeating: "3", count: 300)])
        #expect(channel.isActive)
    }

    @Test("a ping is answered with a masked pong carrying its data; a pong is handed over")
    func pingPong() throws {
        let (channel, heard) = try Self.connection()
        try channel.writeInbound(Self.frame("are you there", opcode: .ping))
        let answers = try Self.written(channel)
        #expect(answers.count == 1)
        #expect(answers.first?.opcode == .pong && answers.first?.masked == true)
        #expect(answers.first.map { String(buffer: $0.payload) } == "are you there")
        try channel.writeInbound(Self.frame("here", opcode: .pong))
        #expect(heard.pongs.withLockedValue { $0 } == ["here"])
    }

    @Test("the server's close frame is answered with its code, then the connection closes and says why")
    func close() throws {
        let (channel, heard) = try Self.connection()
        var payload = ByteBuffer()
        payload.writeInteger(UInt16(1001))
        payload.writeString("going away")
        try channel.writeInbound(WebSocketFrameWriter.frame(payload, opcode: .close))
        let answers = try Self.written(channel)
        #expect(answers.first?.opcode == .connectionClose && answers.first?.masked == true)
        #expect(answers.first?.payload.getInteger(at: answers.first!.payload.readerIndex, as: UInt16.self) == 1001)
        #expect(!channel.isActive)
        #expect(heard.closes.withLockedValue { $0.map(\.0) } == [1001])
        #expect(heard.closes.withLockedValue { $0.map(\.1) } == ["going away"])
    }

    @Test("protocol errors close the connection with 1002 (masked frame, long or fragmented control frame, stray continuation) and 1009 (too big)")
    func protocolErrors() throws {
        let cases: [(ByteBuffer, UInt16)] = [
            (Self.frame("masked", mask: 0x0102_0304), 1002),
            (Self.frame(String(repeating: "p", count: 126), opcode: .ping), 1002),
            (Self.frame("cut", opcode: .ping, fin: false), 1002),
            (Self.frame("stray", opcode: .continuation), 1002),
            (Self.frame(String(repeating: "x", count: 2000)), 1009),
        ]
        for (bytes, code) in cases {
            let (channel, heard) = try Self.connection(maxMessageSize: 1000)
            try channel.writeInbound(bytes)
            #expect(!channel.isActive, "closed for code \(code)")
            #expect(heard.closes.withLockedValue { $0.map(\.0) } == [code])
            #expect(heard.texts.withLockedValue { $0 }.isEmpty)
        }
    }
}
