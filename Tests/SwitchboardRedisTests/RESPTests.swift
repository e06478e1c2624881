import NIOCore
import Testing

@testable import SwitchboardRedis

@Suite("RESP encoding, hiredis reader, reply routing")
struct RESPTests {
    @Test("commands are encoded as arrays of bulk strings, binary-safe")
    func encoder() {
        var buffer = ByteBuffer()
        RESPEncoder.write([ByteBuffer(string: "SET"), ByteBuffer(bytes: [0, 13, 10, 255])], into: &buffer)
        #expect(Array(buffer.readableBytesView) == Array("*2\r\n$3\r\nSET\r\n$4\r\n".utf8) + [0, 13, 10, 255] + Array("\r\n".utf8))
        #expect(String(buffer: RESPEncoder.encode(["PING"])) == "*1\r\n$4\r\nPING\r\n")
    }

    @Test("the reader parses every reply type, across split reads")
    func reader() throws {
        let reader = HiredisReader(keepBuffer: true)
        let text = "+OK\r\n-ERR bad\r\n:42\r\n$3\r\na\0b\r\n$-1\r\n*2\r\n$1\r\nx\r\n:1\r\n*-1\r\n"
        var values: [RESPValue] = []
        for chunk in text.utf8.map({ $0 }).chunked(3) {
            try reader.feed(ByteBuffer(bytes: chunk))
            while let value = try reader.next() { values.append(value) }
        }
        #expect(values == [
            .simpleString("OK"), .error("ERR bad"), .integer(42), .bulkString(ByteBuffer(bytes: [97, 0, 98])), .null,
            .array([.bulkString(ByteBuffer(string: "x")), .integer(1)]), .null,
        ])
    }

    @Test("nested and empty arrays and strings; a reply's strings stay intact while the next replies are read")
    func nested() throws {
        let reader = HiredisReader(keepBuffer: true)
        try reader.feed(ByteBuffer(string: "*3\r\n*2\r\n$1\r\na\r\n:7\r\n$0\r\n\r\n*0\r\n*1\r\n$1\r\nb\r\n-ERR x\r\n+OK\r\n"))
        let first = try reader.next()
        let second = try reader.next()
        #expect(try reader.next() == .error("ERR x"))
        #expect(try reader.next() == .simpleString("OK"))
        #expect(try reader.next() == nil)
        #expect(first == .array([.array([.bulkString(ByteBuffer(string: "a")), .integer(7)]), .bulkString(ByteBuffer()), .array([])]))
        #expect(second == .array([.bulkString(ByteBuffer(string: "b"))]))
        // A reply cut anywhere comes out whole once its last byte is fed.
        let message = Array("*3\r\n$7\r\nmessage\r\n$4\r\nroom\r\n$5\r\nhello\r\n".utf8)
        for cut in 1..<message.count {
            try reader.feed(ByteBuffer(bytes: message[..<cut]))
            #expect(try reader.next() == nil)
            try reader.feed(ByteBuffer(bytes: message[cut...]))
            #expect(try reader.next() == .array([.bulkString(ByteBuffer(string: "message")), .bulkString(ByteBuffer(string: "room")), .bulkString(ByteBuffer(string: "hello"))]))
        }
    }

    @Test("message and smessage pushes come out as messages, other arrays as values; a message that answers a command is its array")
    func messageReplies() throws {
        let reader = HiredisReader(keepBuffer: true)
        try reader.feed(ByteBuffer(string: "*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$2\r\np!\r\n*3\r\n$8\r\nsmessage\r\n$1\r\nd\r\n$0\r\n\r\n*3\r\n$7\r\nmessagx\r\n$1\r\nc\r\n$1\r\np\r\n"))
        #expect(try reader.nextReply() == .message(channel: ByteBuffer(string: "c"), payload: ByteBuffer(string: "p!"), sharded: false))
        #expect(try reader.nextReply() == .message(channel: ByteBuffer(string: "d"), payload: ByteBuffer(), sharded: true))
        guard case .value(.array(let parts))? = try reader.nextReply() else { Issue.record("not a value"); return }
        #expect(parts.count == 3)
        var router = RedisReplyRouter<Int>()
        router.sentCommand(1)
        let reply = HiredisReader.Reply.message(channel: ByteBuffer(string: "c"), payload: ByteBuffer(string: "p"), sharded: false)
        guard case .succeed(1, .array(let answer)) = router.received(reply) else { Issue.record("not the command's reply"); return }
        #expect(answer.first == .bulkString(ByteBuffer(string: "message")))
    }

    @Test("a message kept while the next replies are read stays intact (its bytes are slices of the reader's buffer)")
    func keptMessages() throws {
        let reader = HiredisReader(keepBuffer: true)
        var kept: [HiredisReader.Reply] = []
        for round in 0..<3 {
            var wire = ""
            for index in 0..<5 {
                let payload = String(repeating: String(round * 5 + index), count: 40 + index)
                wire += "*3\r\n$7\r\nmessage\r\n$2\r\nc\(index)\r\n$\(payload.utf8.count)\r\n\(payload)\r\n"
            }
            try reader.feed(ByteBuffer(string: wire))
            while let reply = try reader.nextReply() { kept.append(reply) }
        }
        #expect(kept.count == 15)
        for (number, reply) in kept.enumerated() {
            let index = number % 5
            let payload = String(repeating: String(number), count: 40 + index)
            #expect(reply == .message(channel: ByteBuffer(string: "c\(index)"), payload: ByteBuffer(string: payload), sharded: false))
        }
    }

    @Test("garbage is a protocol error")
    func garbage() throws {
        let reader = HiredisReader(keepBuffer: false)
        try reader.feed(ByteBuffer(string: "?what\r\n"))
        #expect(throws: HiredisReader.ProtocolError.self) { try reader.next() }
    }

    @Test("replies go to waiters in order; pushes only in subscribe mode")
    func router() {
        var router = RedisReplyRouter<Int>()
        router.sentCommand(1)
        router.sentCommand(2)
        guard case .succeed(1, .simpleString("OK")) = router.received(.simpleString("OK")) else { Issue.record("first"); return }
        guard case .fail(2, .server("ERR x")) = router.received(.error("ERR x")) else { Issue.record("second"); return }
        guard case .protocolViolation = router.received(.integer(1)) else { Issue.record("unexpected"); return }
        router.sentSubscription()
        let message = RESPValue.array([.bulkString(ByteBuffer(string: "message")), .bulkString(ByteBuffer(string: "c")), .bulkString(ByteBuffer(string: "p"))])
        guard case .push(.message(ByteBuffer(string: "c"), ByteBuffer(string: "p"))) = router.received(message) else { Issue.record("message"); return }
        let subscribed = RESPValue.array([.bulkString(ByteBuffer(string: "subscribe")), .bulkString(ByteBuffer(string: "c")), .integer(1)])
        guard case .push(.subscribed("c", 1)) = router.received(subscribed) else { Issue.record("subscribe"); return }
        router.sentCommand(3)
        #expect(router.closed() == [3])
    }

    @Test("Redis URLs", arguments: [
        ("redis://127.0.0.1:6380", RedisURL(host: "127.0.0.1", port: 6380)),
        ("redis://localhost", RedisURL(host: "localhost", port: 6379)),
        ("redis://:secret@h:1/2", RedisURL(host: "h", port: 1, password: "secret", database: 2)),
        ("redis://user:p%40ss@h:1/0", RedisURL(host: "h", port: 1, user: "user", password: "p@ss", database: 0)),
        ("redis://[::1]:7000/3", RedisURL(host: "::1", port: 7000, database: 3)),
    ])
    func urls(_ text: String, _ expected: RedisURL) throws {
        #expect(try RedisURL(text) == expected)
    }

    @Test("bad Redis URLs are refused", arguments: ["http://x", "redis://", "redis://h:0", "redis://h:70000", "redis://h/x", "redis://h:1/-1"])
    func badURLs(_ text: String) {
        #expect(throws: RedisError.self) { try RedisURL(text) }
    }
}

extension Array {
    func chunked(_ size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}
