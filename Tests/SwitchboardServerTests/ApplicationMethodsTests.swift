import NIOCore
import Switchboard
import SwitchboardClient
import SwitchboardServer
import SwitchboardTesting
import Testing

@Suite("Application RPC methods")
struct ApplicationMethodsTests {
    struct Order: Codable, Sendable {
        var item: String
        var quantity: Int
    }

    struct Receipt: Codable, Sendable, Equatable {
        var item: String
        var total: Int
    }

    static func methods() -> RPCRouter {
        var methods = RPCRouter()
        methods.register("echo") { (payload: JSONObject, _: RPCContext) in .object(payload) }
        methods.register("order") { (order: Order, context: RPCContext) async throws -> Receipt in
            // An application method can publish through the node's broker.
            _ = try await context.hub.publish(channel: "orders", event: "placed", data: .string(order.item), on: context.eventLoop).get()
            return Receipt(item: order.item, total: order.quantity * 3)
        }
        return methods
    }

    @Test("typed methods decode payloads, encode results and can publish")
    func typed() async throws {
        let node = try await TestNode.start(methods: Self.methods())
        let client = try await SwitchboardClient.connect(to: node.url)
        let orders = try await client.subscribe(channel: "orders")
        let receipt = try await client.call("order", Order(item: "tea", quantity: 2), as: Receipt.self)
        #expect(receipt == Receipt(item: "tea", total: 6))
        var iterator = orders.makeAsyncIterator()
        #expect(try await iterator.next() == ChannelMessage(channel: "orders", event: "placed", data: "tea"))
        await #expect(throws: SwitchboardClientError.rpc(method: "order", error: .invalidParameters([("item", "required"), ("quantity", "not valid type")]))) {
            try await client.call("order", payload: ["quantity": "many"])
        }
        #expect(try await client.call("echo", payload: ["a": [1, 2]]) == ["a": [1, 2]])
        await client.close()
        await node.stop()
    }

    @Test("built-in methods stay available next to application methods")
    func builtins() async throws {
        let node = try await TestNode.start(methods: Self.methods())
        let client = try await SwitchboardClient.connect(to: node.url)
        #expect(try await client.call("server_info")["connections"] == 1)
        #expect(try await client.call("info")["node"]?["id"] == .string(node.hub.nodeID))
        await client.close()
        await node.stop()
    }
}
