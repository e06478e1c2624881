import NIOCore
import SwitchboardTesting
import Synchronization
import Testing

@testable import Switchboard

/// What one socket may send: every inbound message takes its share of the rate, a batch its
/// entries' share; past the rate again and again the transport is told to close.
@Suite("RPC session: limits")
struct RPCSessionLimitsTests {
    @Test("malformed messages, binary frames and events take their share of the rate like requests")
    func everyMessageCounts() async throws {
        let configuration = RPCSession.Configuration(requestsPerSecond: 1)  // a burst of 2
        let harness = try await SessionHarness(configuration: configuration)
        harness.send("not json")
        try await harness.withSession { $0.receiveBinary() }
        #expect(try await harness.reply() == ["error": ["message": "JSON string expected"]])
        #expect(try await harness.reply() == ["error": ["message": "Binary messages are not supported"]])
        harness.send(#"{"id":"1","method":"info"}"#)
        #expect(try await harness.reply()["error"]?["message"]?.stringValue?.hasPrefix("Too many requests") == true)
    }

    @Test("a batch takes one share per entry; a client that keeps pressing is reported once")
    func batchShare() async throws {
        let abused = Mutex(0)
        let configuration = RPCSession.Configuration(requestsPerSecond: 2)  // a burst of 4
        let harness = try await SessionHarness(router: RPCRouter.standard().merging(.jsonRPC(topics: TopicCatalog([]))), codec: JSONRPCCodec(), configuration: configuration)
        try await harness.withSession { session in session.onAbuse = { _ in abused.withLock { $0 += 1 } } }
        let entries = (1...6).map { #"{"jsonrpc":"2.0","id":\#($0),"method":"get_topics"}"# }
        harness.send("[" + entries.joined(separator: ",") + "]")
        let replies = try #require(try await harness.reply().arrayValue)
        #expect(replies.prefix(4).allSatisfy { $0["result"] == [] })
        #expect(replies.suffix(2).allSatisfy { $0["error"]?["code"] == -32012 })
        for _ in 0..<3 { harness.send(#"{"jsonrpc":"2.0","method":"get_topics"}"#) }
        harness.send(#"{"jsonrpc":"2.0","id":9,"method":"get_topics"}"#)
        #expect(try await harness.reply()["error"]?["code"] == -32012)
        #expect(abused.withLock { $0 } == 1)
    }
}
