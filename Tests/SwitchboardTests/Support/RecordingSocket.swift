import NIOCore
import Switchboard
import Synchronization

/// A socket that records what it is sent (the message text).
final class RecordingSocket: SocketHandle {
    let id: SocketID
    let eventLoop: any EventLoop
    let acceptsDeflatedFrames: Bool
    let messageFormat: ChannelMessageFormat
    private let state = Mutex<(messages: [String], closed: UInt16?)>(([], nil))

    init(_ id: UInt64, eventLoop: any EventLoop, deflate: Bool = false, format: ChannelMessageFormat = .stream) {
        self.id = SocketID(rawValue: id)
        self.eventLoop = eventLoop
        self.acceptsDeflatedFrames = deflate
        self.messageFormat = format
    }

    func enqueue(_ message: OutboundMessage) {
        eventLoop.preconditionInEventLoop()
        let frame = message.frame(for: messageFormat, deflated: false) ?? ByteBuffer()
        state.withLock { $0.messages.append(String(buffer: frame)) }
    }

    func close(code: UInt16, reason: String) {
        state.withLock { $0.closed = code }
    }

    var messages: [String] { state.withLock { $0.messages } }
    var closedWith: UInt16? { state.withLock { $0.closed } }
}
