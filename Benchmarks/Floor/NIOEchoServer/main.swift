// nio-echo-server PORT: one SwiftNIO event loop; each read is written back and flushed at the end
// of the read (the least a node built on NIO does per wake-up). scripts/floor.sh measures it with
// scripts/floor/echo-client.c.
import NIOCore
import NIOPosix

final class EchoHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.write(data, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }
}

guard CommandLine.arguments.count == 2, let port = Int(CommandLine.arguments[1]) else {
    print("usage: nio-echo-server PORT")
    exit(64)
}
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let server = try ServerBootstrap(group: group)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { $0.pipeline.addHandler(EchoHandler()) }
    .bind(host: "127.0.0.1", port: port)
    .wait()
try server.closeFuture.wait()
