import NIOCore
import SwitchboardWebSocket

enum Deflate {
    /// `text` as a per-message-deflate payload.
    static func raw(_ text: String) -> ByteBuffer {
        var payload = MessageDeflater(level: 6).compress(ByteBuffer(string: text))!
        // The deflater leaves headroom for a frame header; a WebSocketFrame wants only the data.
        return payload.readSlice(length: payload.readableBytes)!
    }
}
