import Switchboard

/// An order: what and how many.
public struct Order: Codable, Sendable {
    public var item: String
    public var quantity: Int
}

/// What an order costs.
public struct Receipt: Codable, Sendable {
    public var item: String
    public var total: Int
}

/// The shop's RPC methods, served on every protocol of a node.
public enum ShopMethods {
    public static var router: RPCRouter {
        var methods = RPCRouter()
        methods.register("order", parameters: ["item", "quantity"]) { (order: Order, context: RPCContext) async throws -> Receipt in
            guard order.quantity > 0 else { throw RPCError(code: -32050, message: "Order at least one.") }
            // Methods publish through the node's hub: every subscriber on every node gets it.
            _ = try await context.hub.publish(channel: "orders", event: "placed", data: .string(order.item), on: context.eventLoop).get()
            return Receipt(item: order.item, total: order.quantity * 3)
        }
        return methods
    }
}
