import ShopMethods
import Switchboard
import SwitchboardClient
import SwitchboardTesting
import Testing

/// The shop's methods on an in-process node, driven by the Swift client (docs/swift.md).
@Suite("Shop")
struct ShopTests {
    @Test("an order is answered with its receipt and announced on the orders channel")
    func order() async throws {
        let node = try await TestNode.start(methods: ShopMethods.router)
        let client = try await SwitchboardClient.connect(to: node.url)
        let orders = try await client.subscribe(channel: "orders")
        let receipt = try await client.call("order", payload: ["item": "tea", "quantity": 2])
        #expect(receipt == ["item": "tea", "total": 6])
        var messages = orders.makeAsyncIterator()
        #expect(try await messages.next()?.data == "tea")
        // Errors a method throws reach the client as they were thrown.
        do {
            _ = try await client.call("order", payload: ["item": "tea", "quantity": 0])
            Issue.record("no error")
        } catch SwitchboardClientError.rpc(_, let error) {
            #expect(error.message == "Order at least one.")
        }
        await client.close()
        await node.stop()
    }
}
