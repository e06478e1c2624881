import NIOCore
import Switchboard
import SwitchboardWebSocket

/// Builds a delivered message's frames once per node: the plain text frame, and when some
/// recipient negotiated compression, one compressed frame shared by all of them.
struct WebSocketMessageEncoder: OutboundMessageEncoder {
    let codecs: DeflateCodecs?

    func encode(json: consuming ByteBuffer, deflate: Bool) -> OutboundMessage.Frames {
        var deflated: ByteBuffer? = nil
        if deflate, let codecs, json.readableBytes >= codecs.minimumSize {
            deflated = codecs.withDeflater { $0.compress(json) }.map {
                WebSocketFrameWriter.frame($0, opcode: .text, compressed: true)
            }
        }
        return OutboundMessage.Frames(frame: WebSocketFrameWriter.frame(json, opcode: .text), deflatedFrame: deflated)
    }
}
