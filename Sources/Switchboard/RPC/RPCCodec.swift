public import NIOCore

/// One wire protocol over the RPC layer: it turns a text frame into requests, replies and
/// events, and encodes what the node sends. `/stream`, `/jsonrpc` and `/wsrpc` are codecs over one
/// `RPCSession`, one method router and one channel registry; a new protocol is one new codec.
///
/// Codecs are values without state: everything per socket lives in the session.
public protocol RPCCodec: Sendable {
    /// Short name, for logs and `info` (`stream`, `jsonrpc`, `wsrpc`).
    var name: String { get }
    /// How channel messages look on this protocol's sockets.
    var messageFormat: ChannelMessageFormat { get }
    /// The serial of the node's first call to a client, or `nil` when the protocol has no calls
    /// from server to client.
    var firstCallSerial: Int? { get }
    /// The step between two of the node's call serials.
    var callSerialStep: Int { get }
    /// The client method the node calls as its keepalive (wsrpc's `ping`), or `nil` when the
    /// protocol keeps alive with WebSocket pings only.
    var keepaliveMethod: String? { get }

    /// Reads one text frame.
    func decode(_ text: ByteBuffer) -> RPCFrame

    /// The reply to a binary frame, which no protocol here carries (`nil`: none, the frame is
    /// ignored).
    var binaryFrameError: RPCError? { get }

    /// `true` when replies go out in the order the requests came (`/stream`); `false` when each
    /// goes out as soon as it is ready (JSON-RPC and wsrpc, whose ids pair replies with requests;
    /// a JSON-RPC batch still gets one array in request order).
    var answersInRequestOrder: Bool { get }

    /// Writes a success reply.
    func encodeResult(_ result: RawJSON, for request: RPCReplyAddress, into buffer: inout ByteBuffer)
    /// Writes the success reply around `result` in `result`'s own buffer, when the protocol's
    /// envelope fits in the room kept in front of it (`RPCReply.resultHeadroom`, made by methods
    /// that build their result, such as `publish`); `false` leaves it as it was, and the reply is
    /// written into a new buffer with `encodeResult(_:for:into:)`. By default, `false`.
    func encodeResult(around result: inout ByteBuffer, for request: RPCReplyAddress) -> Bool
    /// Writes an error reply; `request` is `nil` when nothing of the request could be read.
    func encodeError(_ error: RPCError, for request: RPCReplyAddress?, into buffer: inout ByteBuffer)
    /// Writes the replies of a batch (each one encoded by this codec) as one message.
    func encodeBatch(_ replies: [ByteBuffer], into buffer: inout ByteBuffer)
    /// Writes a call from the node to the client.
    func encodeCall(serial: Int, method: String, params: JSONValue, into buffer: inout ByteBuffer)
    /// Writes a message that expects no answer: a JSON-RPC notification `{method, params}`; a
    /// wsrpc event (the params object itself, which must not carry an `id`).
    func encodeNotification(method: String, params: JSONValue, into buffer: inout ByteBuffer)
    /// Writes an event the application emits to one socket (`POST /emit`): the object as it is,
    /// without any `id` (JSON-RPC: a notification named by its `event` member).
    func encodeEvent(_ event: JSONObject, into buffer: inout ByteBuffer)
}

extension RPCCodec {
    public var firstCallSerial: Int? { nil }
    public var callSerialStep: Int { 1 }
    public var keepaliveMethod: String? { nil }
    public var binaryFrameError: RPCError? { .binaryNotSupported }
    public var answersInRequestOrder: Bool { true }
    public func encodeResult(around result: inout ByteBuffer, for request: RPCReplyAddress) -> Bool { false }

    public func encodeEvent(_ event: JSONObject, into buffer: inout ByteBuffer) {
        JSONWriter.write(JSONObject(event.members.filter { $0.key != "id" }), into: &buffer)
    }

    public func encodeBatch(_ replies: [ByteBuffer], into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "["))
        for (index, reply) in replies.enumerated() {
            if index > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
            var reply = reply
            buffer.writeBuffer(&reply)
        }
        buffer.writeInteger(UInt8(ascii: "]"))
    }
}

/// What a codec read from one text frame.
public enum RPCFrame: Sendable {
    /// One message.
    case single(RPCInboundMessage)
    /// A batch (JSON-RPC): its replies go out together as one array, in request order.
    case batch([RPCInboundMessage])
}

/// One message from a client.
///
/// The rare cases are boxed (`indirect`), so the message is no larger than a request: it is
/// moved several times per request, and a larger value is moved with a `memmove` call.
public enum RPCInboundMessage: Sendable {
    /// A request to run a method.
    case request(RPCIncomingRequest)
    /// The client's answer to a call the node made with `serial`.
    indirect case reply(serial: Int, outcome: Result<JSONValue, RPCError>)
    /// A message that expects no answer and runs no method (a wsrpc client event).
    case event(JSONValue)
    /// A message that cannot be served: answered with `error`, in its turn.
    indirect case invalid(RPCError, address: RPCReplyAddress?)
    /// Nothing to do (an answer to a call that is not pending, say).
    case ignored
}

/// A request: the method, its parameters, and what its reply must echo.
public struct RPCIncomingRequest: Sendable {
    /// What the reply echoes; its `rawID` is `nil` for a notification, which gets no reply.
    public var address: RPCReplyAddress
    /// The method name.
    public var method: String
    /// The parameters as sent.
    public var params: RPCParams

    public init(address: RPCReplyAddress, method: String, params: RPCParams) {
        self.address = address
        self.method = method
        self.params = params
    }

    /// `true` for a JSON-RPC notification: the method runs, nothing is answered.
    public var isNotification: Bool { address.rawID == nil }
}

/// What a reply echoes of its request.
public struct RPCReplyAddress: Sendable {
    /// The id's JSON text as sent, or `nil` when there is none (a notification, or an id that
    /// could not be read).
    public var rawID: ByteBuffer?
    /// The method, once the envelope was valid (`/stream` echoes it).
    public var method: String?

    public init(rawID: ByteBuffer?, method: String? = nil) {
        self.rawID = rawID
        self.method = method
    }

    /// The id, parsed (`nil` when there is none).
    public var id: JSONValue? { rawID.map { RawJSON(unchecked: $0).value } }
}
