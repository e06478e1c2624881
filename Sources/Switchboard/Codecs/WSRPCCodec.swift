public import NIOCore

/// wsrpc as wsrpc-aiohttp and its JS client speak it (`/wsrpc`; docs/wsrpc.md): both sides call each other. `{"id", "method", "params"}` calls, `{"id", "result"}` and
/// `{"id", "error": {"type", "message"}}` answers, and id-less objects as events. The node's calls
/// are numbered 2, 4, 6…; the client's serials are its own, kept apart.
public struct WSRPCCodec: RPCCodec {
    public init() {}

    public var name: String { "wsrpc" }
    public var messageFormat: ChannelMessageFormat { .stream }
    public var firstCallSerial: Int? { 2 }
    public var callSerialStep: Int { 2 }
    /// Both shipped clients register `ping`, which returns its params.
    public var keepaliveMethod: String? { "ping" }
    /// wsrpc-aiohttp runs each call as its own task and answers when it is done.
    public var answersInRequestOrder: Bool { false }

    /// The exception class name a Python or JS client sees in `error.type` for `code` (as
    /// wsrpc-aiohttp's would be: a call with arguments that do not fit raises `TypeError`).
    static func typeName(_ code: Int) -> String {
        switch code {
        case RPCError.Code.parseError: "JSONDecodeError"
        case RPCError.Code.invalidRequest: "InvalidRequest"
        case RPCError.Code.methodNotFound: "NotImplementedError"
        case RPCError.Code.invalidParams: "TypeError"
        case RPCError.Code.internalError: "InternalError"
        default: "RPCError"
        }
    }

    // MARK: - Decoding

    public func decode(_ text: ByteBuffer) -> RPCFrame {
        let value: JSONValue
        do {
            value = try text.withUnsafeReadableBytes { try JSONParser.parse($0) }
        } catch {
            return .single(.invalid(.notJSON, address: RPCReplyAddress(rawID: ByteBuffer(staticString: "null"))))
        }
        guard case .object(let object) = value else {
            return .single(.invalid(.notAnObject(value), address: RPCReplyAddress(rawID: ByteBuffer(staticString: "null"))))
        }
        // Without an id, a message is an event (the clients' rule too).
        guard let id = object["id"]?.nonNull else { return .single(.event(value)) }
        let address = RPCReplyAddress(rawID: id.jsonBytes)
        if let method = object["method"] {
            guard case .string(let name) = method else {
                return .single(.invalid(.invalidParameter("method", FieldProblem.notValidType), address: address))
            }
            return .single(.request(RPCIncomingRequest(address: address, method: name, params: RPCParams(object["params"]))))
        }
        guard let serial = id.intValue else { return .single(.ignored) }
        // The JS client answers a call it cannot route with {"error": "…", "result": null}.
        if let error = object["error"], error != .null || object["result"] == nil {
            return .single(.reply(serial: serial, outcome: .failure(Self.clientError(error))))
        }
        return .single(.reply(serial: serial, outcome: .success(object["result"] ?? .null)))
    }

    private static func clientError(_ error: JSONValue) -> RPCError {
        switch error {
        case .string(let message):
            return RPCError(code: RPCError.Code.serverError, message: message, data: error)
        case .object(let object):
            let type = object["type"]?.stringValue
            let message = object["message"]?.stringValue ?? "the client reported an error"
            return RPCError(code: RPCError.Code.serverError, message: type.map { "\($0): \(message)" } ?? message, data: error)
        default:
            return RPCError(code: RPCError.Code.serverError, message: "the client reported an error", data: error)
        }
    }

    // MARK: - Encoding

    public func encodeResult(_ result: RawJSON, for request: RPCReplyAddress, into buffer: inout ByteBuffer) {
        buffer.reserveCapacity(buffer.writerIndex + result.bytes.readableBytes + (request.rawID?.readableBytes ?? 4) + 24)
        buffer.writeStaticString(#"{"id":"#)
        var id = request.rawID ?? ByteBuffer(staticString: "null")
        buffer.writeBuffer(&id)
        buffer.writeStaticString(#","result":"#)
        var body = result.bytes
        buffer.writeBuffer(&body)
        buffer.writeInteger(UInt8(ascii: "}"))
    }

    public func encodeError(_ error: RPCError, for request: RPCReplyAddress?, into buffer: inout ByteBuffer) {
        buffer.writeStaticString(#"{"id":"#)
        var id = request?.rawID ?? ByteBuffer(staticString: "null")
        buffer.writeBuffer(&id)
        buffer.writeStaticString(#","error":"#)
        var object: JSONObject = ["type": .string(error.exceptionType ?? Self.typeName(error.code)), "message": .string(error.exceptionMessage ?? error.summary)]
        if error.fromBackend {
            // wsrpc-aiohttp's ClientException keeps the whole object in `raw`.
            object.append("code", .number(JSONNumber(error.code)))
            if let data = error.data { object.append("data", data) }
        }
        JSONWriter.write(.object(object), into: &buffer)
        buffer.writeInteger(UInt8(ascii: "}"))
    }

    public func encodeCall(serial: Int, method: String, params: JSONValue, into buffer: inout ByteBuffer) {
        JSONWriter.write(.object(["id": .number(JSONNumber(serial)), "method": .string(method), "params": params]), into: &buffer)
    }

    /// An event `{"event": method, "data": params}` (no `id`: clients hand it to their event listeners).
    public func encodeNotification(method: String, params: JSONValue, into buffer: inout ByteBuffer) {
        JSONWriter.write(.object(["event": .string(method), "data": params]), into: &buffer)
    }
}
