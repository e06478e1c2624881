import NIOCore
import NIOPosix
import Synchronization

/// A TCP proxy on a free loopback port, for fault tests: it can freeze every connection it
/// carries (bytes stop flowing both ways, nothing is closed), as a half-dead network path would,
/// and send new connections to another target, as a load balancer would.
public final class TCPProxy: Sendable {
    /// The port clients connect to.
    public let port: Int
    private let server: any Channel
    private let box: StateBox

    private init(port: Int, server: any Channel, box: StateBox) {
        self.port = port
        self.server = server
        self.box = box
    }

    /// Starts a proxy to `targetPort` on 127.0.0.1.
    public static func start(to targetPort: Int) async throws -> TCPProxy {
        let box = StateBox(target: targetPort)
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelOption(.autoRead, value: true)
            .childChannelInitializer { inbound in
                inbound.setOption(.autoRead, value: false).flatMap {
                    ClientBootstrap(group: inbound.eventLoop)
                        .connect(host: "127.0.0.1", port: box.target.withLock { $0 })
                }.flatMap { outbound in
                    box.add(inbound, outbound)
                    return inbound.eventLoop.makeCompletedFuture {
                        try inbound.pipeline.syncOperations.addHandler(Relay(peer: outbound, box: box))
                    }.flatMap {
                        outbound.pipeline.addHandler(Relay(peer: inbound, box: box))
                    }.flatMap {
                        inbound.setOption(.autoRead, value: true)
                    }
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return TCPProxy(port: server.localAddress?.port ?? 0, server: server, box: box)
    }

    /// Stops forwarding on every current connection (new connections flow normally).
    public func freezeCurrentConnections() {
        let connections = box.connections.withLock { connections in
            defer { connections = [] }
            return connections
        }
        for connection in connections {
            connection.setOption(.autoRead, value: false).whenComplete { _ in }
        }
    }

    /// Sends new connections to `port` from now on.
    public func retarget(to port: Int) {
        box.target.withLock { $0 = port }
    }

    /// Closes the proxy and every connection.
    public func close() {
        let connections = box.connections.withLock { $0 }
        for connection in connections { connection.close(promise: nil) }
        server.close(promise: nil)
    }
}

private final class StateBox: Sendable {
    let connections = Mutex<[any Channel]>([])
    let target: Mutex<Int>

    init(target: Int) {
        self.target = Mutex(target)
    }

    func add(_ a: any Channel, _ b: any Channel) {
        connections.withLock { $0.append(contentsOf: [a, b]) }
    }
}

/// Forwards bytes to the peer channel; closes the peer when its side closes.
private final class Relay: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let peer: any Channel
    let box: StateBox

    init(peer: any Channel, box: StateBox) {
        self.peer = peer
        self.box = box
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        peer.writeAndFlush(unwrapInboundIn(data), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        peer.close(promise: nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
