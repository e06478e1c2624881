public import NIOCore

/// One message for sockets, encoded once per node and format and shared by every socket that
/// gets it: the frames of each format some recipient speaks.
public struct OutboundMessage: Sendable {
    /// A message's frames in one format.
    public struct Frames: Sendable {
        /// The message as it goes on the wire (a complete frame, for WebSocket transports).
        public let frame: ByteBuffer
        /// The compressed variant of `frame`, when some recipient takes one.
        public let deflatedFrame: ByteBuffer?

        public init(frame: ByteBuffer, deflatedFrame: ByteBuffer? = nil) {
            self.frame = frame
            self.deflatedFrame = deflatedFrame
        }
    }

    /// The frames of `/stream` and wsrpc sockets (`{"channel", "event", "data"}`).
    public let stream: Frames?
    /// The frames of JSON-RPC sockets (`{"jsonrpc", "method", "params"}`).
    public let jsonRPC: Frames?
    /// The channel and offset of a history channel's message: a socket that is recovering the
    /// channel holds it back until the missed messages are out, and drops it if they had it.
    public let history: ChannelOffset?

    public init(stream: Frames?, jsonRPC: Frames? = nil, history: ChannelOffset? = nil) {
        self.stream = stream
        self.jsonRPC = jsonRPC
        self.history = history
    }

    /// A message in the `/stream` format only.
    public init(frame: ByteBuffer, deflatedFrame: ByteBuffer? = nil) {
        self.init(stream: Frames(frame: frame, deflatedFrame: deflatedFrame))
    }

    /// The frame for a socket of `format`: the compressed one when it takes one and there is one.
    @inlinable
    public func frame(for format: ChannelMessageFormat, deflated: Bool) -> ByteBuffer? {
        let frames = format == .stream ? stream : jsonRPC
        guard let frames else { return nil }
        return deflated ? (frames.deflatedFrame ?? frames.frame) : frames.frame
    }

    /// The first frame there is (tests and plain sinks).
    public var frame: ByteBuffer { (stream ?? jsonRPC)?.frame ?? ByteBuffer() }
}

/// A message's channel and offset in that channel's history.
public struct ChannelOffset: Sendable, Equatable {
    public let channel: String
    public let offset: StreamOffset

    public init(channel: String, offset: StreamOffset) {
        self.channel = channel
        self.offset = offset
    }
}

/// Turns the JSON text of a message into what sockets send: the WebSocket transport builds a
/// frame (and a compressed frame) once per message and format here.
public protocol OutboundMessageEncoder: Sendable {
    /// Encodes `json`; `deflate` says whether any recipient takes a compressed frame. The text is
    /// the encoder's (consumed), so a frame header can be written in front of it in place.
    func encode(json: consuming ByteBuffer, deflate: Bool) -> OutboundMessage.Frames
}

/// An encoder that sends the JSON text as it is (for tests and non-WebSocket sinks).
public struct PlainTextEncoder: OutboundMessageEncoder {
    public init() {}

    public func encode(json: consuming ByteBuffer, deflate: Bool) -> OutboundMessage.Frames {
        OutboundMessage.Frames(frame: json)
    }
}
