import NIOCore
import Switchboard

/// The `SocketHandle` the registries hold for a WebSocket RPC socket: it forwards to the handler
/// on the socket's loop. It holds the handler; the handler does not hold it, so nothing leaks
/// once the registries let go.
final class WebSocketHandle: SocketHandle, @unchecked Sendable {
    let id: SocketID
    let eventLoop: any EventLoop
    let acceptsDeflatedFrames: Bool
    let messageFormat: ChannelMessageFormat
    let rpc: RPCSocket?
    /// Only touched on `eventLoop`: the registry calls `enqueue` there (checked in debug builds;
    /// the per-delivery thread check of `NIOLoopBound` is measurable on the fan-out path).
    private let handler: WebSocketConnectionHandler

    init(
        id: SocketID,
        eventLoop: any EventLoop,
        acceptsDeflatedFrames: Bool,
        messageFormat: ChannelMessageFormat,
        rpc: RPCSocket?,
        handler: WebSocketConnectionHandler
    ) {
        self.id = id
        self.eventLoop = eventLoop
        self.acceptsDeflatedFrames = acceptsDeflatedFrames
        self.messageFormat = messageFormat
        self.rpc = rpc
        self.handler = handler
    }

    func enqueue(_ message: OutboundMessage) {
        assert(eventLoop.inEventLoop)
        handler.deliver(message)
    }

    func hold(channel: String) {
        assert(eventLoop.inEventLoop)
        handler.hold(channel: channel)
    }

    func release(channel: String, after offset: StreamOffset?) {
        assert(eventLoop.inEventLoop)
        handler.release(channel: channel, after: offset)
    }

    func close(code: UInt16, reason: String) {
        eventLoop.execute {
            self.handler.initiateClose(code: code, reason: reason, keepQueued: true)
        }
    }
}
