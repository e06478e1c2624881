import Foundation
import NIOCore
import Switchboard
import SwitchboardServer
import SwitchboardTesting
import Testing

/// Presence is the same whichever protocol subscribed, and nothing is left behind by a socket
/// that closes right after it subscribed, or by a change of identity.
@Suite("Presence across protocols and identities")
struct PresenceTests {
    static let secret = "a-test-secret-of-thirty-two-bytes!"

    static func node(mode: AccessPolicy.Mode = .off) async throws -> TestNode {
        var configuration = NodeConfiguration(port: 0, topics: TopicCatalog(["room:*"]))
        configuration.security.policy = AccessPolicy(
            mode: mode,
            channels: [
                ChannelRule(match: "room:*", presence: true, joinLeave: true),
                ChannelRule(match: "members:*", subscribe: .login, publish: .login, presence: true, joinLeave: true),
            ],
            verifier: try await JWTVerifier.load(hs256Secrets: [secret])
        )
        return try await TestNode.start(configuration: configuration)
    }

    static func stats(_ socket: RawWebSocket, _ channel: String) async throws -> JSONValue? {
        try await socket.call(["id": "s", "method": "presence_stats", "payload": ["channel": .string(channel)]])["response"]
    }

    /// The next message on `channel` with `event` about `socket` (skipping replies and other
    /// messages: a subscriber also sees its own `$join`).
    static func next(_ watcher: RawWebSocket, event: String, on channel: String, about socket: JSONValue) async throws -> JSONValue {
        while true {
            let message = try await watcher.nextJSON(timeout: .seconds(5))
            if message["channel"] == .string(channel), message["event"] == .string(event), message["data"]?["socket"] == socket { return message }
        }
    }

    @Test("sockets that subscribe to a presence channel and close at once leave nothing in presence")
    func closeRightAfterSubscribing() async throws {
        let node = try await Self.node()
        for _ in 0..<60 {
            let socket = try await RawWebSocket.connect(node.url)
            try await socket.send(json: ["id": "s", "method": "subscribe", "payload": ["channel": "room:quick"]])
            socket.abort()
        }
        let probe = try await RawWebSocket.connect(node.url)
        #expect(await eventually(timeout: .seconds(5)) { (try? await Self.stats(probe, "room:quick"))?["sockets"] == 0 })
        // And it stays empty: no entry is added late, nor refreshed.
        #expect(node.hub.presence.byChannel()["room:quick"] == nil)
        #expect(try await Self.stats(probe, "room:quick")?["sockets"] == 0)
        await probe.close()
        await node.stop()
    }

    @Test("logout leaves the presence of channels the connection may no longer hold, with $leave")
    func logoutLeavesPresence() async throws {
        let node = try await Self.node(mode: .optional)
        let token = try await TestTokens.hs256(secret: Self.secret, sub: "ann")
        let watcher = try await RawWebSocket.connect(node.url + "?token=\(try await TestTokens.hs256(secret: Self.secret, sub: "bob"))")
        _ = try await watcher.call(["id": "w", "method": "subscribe", "payload": ["channel": "members:1"]])
        let ann = try await RawWebSocket.connect(node.url + "?token=\(token)")
        let annID = try #require(try await ann.call(["id": "i", "method": "session"])["response"]?["socket"])
        _ = try await ann.call(["id": "s", "method": "subscribe", "payload": ["channel": "members:1"]])
        #expect(try await Self.next(watcher, event: "$join", on: "members:1", about: annID)["data"]?["user"] == "ann")
        #expect(try await Self.stats(watcher, "members:1") == ["sockets": 2, "users": 2])
        let loggedOut = try await ann.call(["id": "o", "method": "logout"])
        #expect(loggedOut["response"]?["authenticated"] == false)
        #expect(try await Self.next(watcher, event: "$leave", on: "members:1", about: annID)["data"]?["user"] == "ann")
        #expect(await eventually { (try? await Self.stats(watcher, "members:1")) == ["sockets": 1, "users": 1] })
        await ann.close()
        await watcher.close()
        await node.stop()
    }

    @Test("/jsonrpc and /wsrpc subscribers are in presence and announce $join and $leave like /stream ones")
    func everyProtocolInPresence() async throws {
        let node = try await Self.node()
        let watcher = try await RawWebSocket.connect(node.url)
        _ = try await watcher.call(["id": "w", "method": "subscribe", "payload": ["channel": "room:mixed"]])
        let rpc = try await RawWebSocket.connect(node.jsonRPCURL)
        let rpcID = try #require(try await rpc.call(["jsonrpc": "2.0", "id": 0, "method": "session"])["result"]?["socket"])
        #expect(try await rpc.call(["jsonrpc": "2.0", "id": 1, "method": "subscribe", "params": "room:mixed"])["result"] == ["room:mixed"])
        #expect(try await Self.next(watcher, event: "$join", on: "room:mixed", about: rpcID)["data"]?["node"] != nil)
        let wsrpc = try await RawWebSocket.connect(node.wsrpcURL)
        let wsrpcID = try #require(try await wsrpc.call(["id": 3, "method": "session"])["result"]?["socket"])
        #expect(try await wsrpc.call(["id": 5, "method": "subscribe", "params": ["channel": "room:mixed"]])["result"] != nil)
        #expect(try await Self.next(watcher, event: "$join", on: "room:mixed", about: wsrpcID)["data"]?["node"] != nil)
        let list = try await watcher.call(["id": "p", "method": "presence", "payload": ["channel": "room:mixed"]])["response"]?["presence"]?.arrayValue ?? []
        let sockets = Set(list.compactMap { $0["socket"] })
        #expect(sockets.count == 3)
        #expect(sockets.contains(rpcID) && sockets.contains(wsrpcID))
        _ = try await rpc.call(["jsonrpc": "2.0", "id": 2, "method": "unsubscribe", "params": "room:mixed"])
        #expect(try await Self.next(watcher, event: "$leave", on: "room:mixed", about: rpcID)["data"]?["node"] != nil)
        await rpc.close()
        await wsrpc.close()
        await watcher.close()
        await node.stop()
    }
}
