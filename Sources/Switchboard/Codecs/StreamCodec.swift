public import NIOCore

/// The `/stream` protocol (aio-openapi's `openapi.ws`, docs/protocol.md): `{"id", "method", "payload"}`
/// requests, `{"id", "method", "response"}` replies, `{"error": {"message", "errors"?}, "id"?,
/// "method"?}` errors. It has no calls from the node to the client.
public struct StreamCodec: RPCCodec {
    public init() {}

    public var name: String { "stream" }
    public var messageFormat: ChannelMessageFormat { .stream }

    public func decode(_ text: ByteBuffer) -> RPCFrame {
        if let envelope = RPCEnvelope.fastDecode(text) { return Self.request(envelope) }
        switch RPCEnvelope.fullDecode(text) {
        case .success(let envelope):
            return Self.request(envelope)
        case .failure(let rejection):
            return .single(.invalid(rejection.error, address: RPCReplyAddress(rawID: rejection.id?.jsonBytes, method: rejection.method)))
        }
    }

    private static func request(_ envelope: RPCEnvelope) -> RPCFrame {
        .single(.request(RPCIncomingRequest(
            address: RPCReplyAddress(rawID: envelope.rawID, method: envelope.method),
            method: envelope.method,
            params: envelope.payload.map(RPCParams.object) ?? .none
        )))
    }

    public func encodeResult(_ result: RawJSON, for request: RPCReplyAddress, into buffer: inout ByteBuffer) {
        RPCReply.success(rawID: request.rawID ?? ByteBuffer(staticString: "null"), method: request.method ?? "", response: result, into: &buffer)
    }

    /// `{"id", "method", "response"}` written around the result where it lies (a frame header's
    /// room left in front).
    public func encodeResult(around result: inout ByteBuffer, for request: RPCReplyAddress) -> Bool {
        RPCReply.success(rawID: request.rawID ?? ByteBuffer(staticString: "null"), method: request.method ?? "", around: &result, keeping: ChannelMessageText.headroom)
    }

    public func encodeError(_ error: RPCError, for request: RPCReplyAddress?, into buffer: inout ByteBuffer) {
        RPCReply.failure(error, rawID: request?.rawID, method: request?.method, into: &buffer)
    }

    /// `/stream` has no calls to the client; nothing is written.
    public func encodeCall(serial: Int, method: String, params: JSONValue, into buffer: inout ByteBuffer) {}

    /// A message to the socket outside any reply: `{"event": method, "data": params}`.
    public func encodeNotification(method: String, params: JSONValue, into buffer: inout ByteBuffer) {
        JSONWriter.write(.object(["event": .string(method), "data": params]), into: &buffer)
    }
}

extension RPCError {
    /// Reads a `/stream` error object `{"message", "errors"?}` (a client's side of the protocol).
    /// `/stream` errors carry no code: it is inferred from docs/protocol.md's fixed messages,
    /// except for an application backend's errors, which carry their `code` and `data`.
    public init(streamError object: JSONObject) {
        let message = object["message"]?.stringValue ?? ""
        let errors = object["errors"]?.objectValue
        if let code = object["code"]?.intValue {
            self = .fromBackend(code: code, message: message, data: object["data"]?.nonNull, type: nil)
            self.errors = errors
            return
        }
        self.init(message: message, errors: errors)
        switch message {
        case RPCError.notJSON.message: code = Code.parseError
        case RPCError.internalError.message: code = Code.internalError
        case RPCError.binaryNotSupported.message: code = Code.invalidRequest
        case _ where message.hasPrefix("Malformed message"): code = Code.invalidRequest
        default:
            if let problem = errors?["method"]?.stringValue, problem.hasSuffix(" method not available") {
                code = Code.methodNotFound
            }
        }
    }
}

