import NIOPosix
import ShopMethods
import Switchboard
import SwitchboardServer

@main
struct Shop {
    static func main() async throws {
        let metrics = NodeMetrics()
        let broker = LocalBroker(metrics: metrics.switchboard, eventLoop: MultiThreadedEventLoopGroup.singleton.next())
        let node = SwitchboardNode(configuration: NodeConfiguration(port: 8080), broker: broker,
                                   methods: ShopMethods.router, metrics: metrics)
        try await node.run()   // until SIGTERM or SIGINT
    }
}
