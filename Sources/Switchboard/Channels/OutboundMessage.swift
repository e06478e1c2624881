public import NIOCore

/// One message for sockets, encoded once per node and shared by every socket that gets it.
public struct OutboundMessage: Sendable {
    /// The message as it goes on the wire (a complete frame, for WebSocket transports).
    public let frame: ByteBuffer
    /// The compressed variant of `frame`, when some recipient takes one.
    public let deflatedFrame: ByteBuffer?

    public init(frame: ByteBuffer, deflatedFrame: ByteBuffer? = nil) {
        self.frame = frame
        self.deflatedFrame = deflatedFrame
    }
}

/// Turns the JSON text of a message into what sockets send: the WebSocket transport builds a
/// frame (and a compressed frame) once per message here.
public protocol OutboundMessageEncoder: Sendable {
    /// Encodes `json`; `deflate` says whether any recipient takes a compressed frame.
    func encode(json: ByteBuffer, deflate: Bool) -> OutboundMessage
}

/// An encoder that sends the JSON text as it is (for tests and non-WebSocket sinks).
public struct PlainTextEncoder: OutboundMessageEncoder {
    public init() {}

    public func encode(json: ByteBuffer, deflate: Bool) -> OutboundMessage {
        OutboundMessage(frame: json)
    }
}

/// The JSON of a delivered message: `{"channel": <channel>, "event": <event or "">, "data": <data>}`.
public enum ChannelMessageText {
    /// Bytes left free in front of the text, so a transport can add its frame header in place.
    public static let headroom = 10

    /// Writes the message with `data` given as raw JSON text (already validated).
    public static func make(channel: String, event: String?, rawData: ByteBuffer) -> ByteBuffer {
        var head: [UInt8] = []
        head.reserveCapacity(channel.utf8.count + (event?.utf8.count ?? 0) + 40)
        head.append(contentsOf: #"{"channel":"#.utf8)
        JSONWriter.append(channel, to: &head)
        head.append(contentsOf: #","event":"#.utf8)
        JSONWriter.append(event ?? "", to: &head)
        head.append(contentsOf: #","data":"#.utf8)
        var buffer = ByteBuffer()
        buffer.reserveCapacity(headroom + head.count + rawData.readableBytes + 1)
        buffer.moveWriterIndex(forwardBy: headroom)
        buffer.moveReaderIndex(forwardBy: headroom)
        buffer.writeBytes(head)
        var data = rawData
        buffer.writeBuffer(&data)
        buffer.writeInteger(UInt8(ascii: "}"))
        return buffer
    }
}
