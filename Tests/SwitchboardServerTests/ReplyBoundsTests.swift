import NIOCore
import Switchboard
import SwitchboardServer
import SwitchboardTesting
import Testing

/// Small requests cannot make the node hold huge replies (security findings 4 and 6): a history
/// page is bounded in bytes and says where to go on from; a reply, or a batch's replies together,
/// past the reply bound is answered with an error instead.
@Suite("Reply bounds")
struct ReplyBoundsTests {
    static func node() async throws -> TestNode {
        var configuration = NodeConfiguration(port: 0)
        configuration.security.policy.channels = [ChannelRule(match: "big:*", historySize: 100, historyTTL: 600)]
        return try await TestNode.start(configuration: configuration)
    }

    /// Publishes `count` messages of about `size` bytes of data on `channel`.
    static func fill(_ node: TestNode, channel: String, count: Int, size: Int) async throws {
        let socket = try await RawWebSocket.connect(node.url)
        let blob = String(repeating: "x", count: size)
        for seq in 0..<count {
            let reply = try await socket.call(["id": .string("\(seq)"), "method": "publish", "payload": ["channel": .string(channel), "data": [.number(JSONNumber(seq)), .string(blob)]]])
            #expect(reply["response"] != nil)
        }
        await socket.close()
    }

    @Test("a history page holds at most 1 MiB of data and says where to go on from; reading on gets the rest")
    func historyPageBytes() async throws {
        let node = try await Self.node()
        try await Self.fill(node, channel: "big:a", count: 6, size: 300_000)
        let socket = try await RawWebSocket.connect(node.url)
        let first = try #require(try await socket.call(["id": "h1", "method": "history", "payload": ["channel": "big:a"]])["response"])
        let firstSeqs = first["publications"]?.arrayValue?.compactMap { $0["data"]?.arrayValue?.first?.intValue } ?? []
        #expect(firstSeqs == [0, 1, 2])
        #expect(first["truncated"] == true)
        let next = try #require(first["next"])
        let second = try #require(try await socket.call(["id": "h2", "method": "history", "payload": ["channel": "big:a", "since": next]])["response"])
        #expect(second["publications"]?.arrayValue?.compactMap { $0["data"]?.arrayValue?.first?.intValue } == [3, 4, 5])
        #expect(second["truncated"] == nil)
        await socket.close()
        await node.stop()
    }

    @Test("a small JSON-RPC batch whose replies would be huge is answered within the bound, the entries past it with -32013")
    func batchReplyBound() async throws {
        let node = try await Self.node()
        try await Self.fill(node, channel: "big:b", count: 3, size: 300_000)
        let rpc = try await RawWebSocket.connect(node.jsonRPCURL)
        let entries = (1...20).map { #"{"jsonrpc":"2.0","id":\#($0),"method":"history","params":{"channel":"big:b"}}"# }
        try await rpc.send("[" + entries.joined(separator: ",") + "]")
        guard case .text(let text, _) = try await rpc.next() else { Issue.record("no reply"); return }
        // 20 pages of 900 KB would be 18 MB: the reply stays within 4 MiB + 64 KiB (and a few errors).
        let bound: Int = (4 << 20) + (64 << 10) + 20 * 300
        #expect(text.utf8.count < bound, "\(text.utf8.count) bytes")
        let replies = try #require(try JSONValue(parsing: text).arrayValue)
        #expect(replies.count == 20)
        #expect(replies.compactMap { $0["id"]?.intValue } == Array(1...20))
        #expect(replies.first?["result"]?["publications"]?.arrayValue?.count == 3)
        #expect(replies.last?["error"]?["code"] == -32013)
        #expect(replies.last?["error"]?["message"]?.stringValue?.contains("send fewer requests per batch") == true)
        #expect(try await rpc.call(["jsonrpc": "2.0", "id": 99, "method": "get_topics"])["result"] != nil)
        await rpc.close()
        await node.stop()
    }
}
