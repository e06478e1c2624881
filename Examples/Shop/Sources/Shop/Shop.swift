import NIOPosix
import Switchboard
import SwitchboardServer

struct Order: Codable, Sendable { var item: String; var quantity: Int }
struct Receipt: Codable, Sendable { var item: String; var total: Int }

@main
struct Shop {
    static func main() async throws {
        var methods = RPCRouter()
        methods.register("order", parameters: ["item", "quantity"]) { (order: Order, context: RPCContext) async throws -> Receipt in
            // Methods can publish through the node's broker.
            try await context.hub.publish(channel: "orders", event: "placed", data: .string(order.item),
                                              on: context.eventLoop).get()
            return Receipt(item: order.item, total: order.quantity * 3)
        }
        let metrics = NodeMetrics()
        let broker = LocalBroker(metrics: metrics.switchboard, eventLoop: MultiThreadedEventLoopGroup.singleton.next())
        let node = SwitchboardNode(configuration: NodeConfiguration(port: 8080), broker: broker,
                                   methods: methods, metrics: metrics)
        try await node.run()   // until SIGTERM or SIGINT
    }
}
