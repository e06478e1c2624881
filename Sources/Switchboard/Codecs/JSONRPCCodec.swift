public import NIOCore

/// JSON-RPC 2.0 as aiohttp-json-rpc speaks it (`/jsonrpc`; docs/jsonrpc.md):
/// requests, notifications (no reply), results, errors with the standard codes, batches, and
/// calls from the node to the client with the node's own ids.
public struct JSONRPCCodec: RPCCodec {
    public init() {}

    public var name: String { "jsonrpc" }
    public var messageFormat: ChannelMessageFormat { .jsonRPC }
    public var firstCallSerial: Int? { 0 }

    /// aiohttp-json-rpc's messages for the standard codes (its exception classes' `MESSAGE`).
    static func standardMessage(_ code: Int) -> String? {
        switch code {
        case RPCError.Code.parseError: "Invalid JSON was received"
        case RPCError.Code.invalidRequest: "Invalid request"
        case RPCError.Code.methodNotFound: "Method not found"
        case RPCError.Code.invalidParams: "Invalid params"
        case RPCError.Code.internalError: "Internal Error"
        default: nil
        }
    }

    /// aiohttp-json-rpc ignores frames that are not text; so does the node (a reply without an
    /// id would reach no caller).
    public var binaryFrameError: RPCError? { nil }

    /// Each request runs on its own and is answered when it is done, as aiohttp-json-rpc does.
    public var answersInRequestOrder: Bool { false }

    // MARK: - Decoding

    public func decode(_ text: ByteBuffer) -> RPCFrame {
        let value: JSONValue
        do {
            value = try text.withUnsafeReadableBytes { try JSONParser.parse($0) }
        } catch {
            return .single(.invalid(RPCError(code: RPCError.Code.parseError, message: "not JSON: \(error)").fromNode, address: nil))
        }
        guard case .array(let elements) = value else { return .single(message(value)) }
        guard !elements.isEmpty else {
            return .single(.invalid(Self.invalidRequest("an empty batch"), address: nil))
        }
        return .batch(elements.map(message))
    }

    private static func invalidRequest(_ reason: String) -> RPCError {
        RPCError(code: RPCError.Code.invalidRequest, message: "Invalid request: \(reason)").fromNode
    }

    /// One request, notification or reply.
    private func message(_ value: JSONValue) -> RPCInboundMessage {
        guard case .object(let object) = value else {
            return .invalid(Self.invalidRequest("expected an object, got \(value.typeName)"), address: nil)
        }
        // An id that is null counts as none (a notification); any other value is echoed as sent.
        let rawID = object["id"]?.nonNull?.jsonBytes
        let address = RPCReplyAddress(rawID: rawID)
        guard object["jsonrpc"] == .string("2.0") else {
            return .invalid(Self.invalidRequest("\"jsonrpc\" must be \"2.0\""), address: address)
        }
        let kinds = ["method", "result", "error"].filter { object.contains(key: $0) }
        guard kinds.count == 1 else {
            return .invalid(Self.invalidRequest("exactly one of \"method\", \"result\" and \"error\" expected"), address: address)
        }
        switch kinds[0] {
        case "method":
            guard case .string(let method)? = object["method"] else {
                return .invalid(Self.invalidRequest("\"method\" must be a string"), address: address)
            }
            return .request(RPCIncomingRequest(address: address, method: method, params: RPCParams(object["params"])))
        case "result":
            guard let serial = object["id"]?.intValue else { return .ignored }
            return .reply(serial: serial, outcome: .success(object["result"] ?? .null))
        default:
            guard let serial = object["id"]?.intValue else { return .ignored }
            let error = object["error"]?.objectValue ?? JSONObject()
            return .reply(serial: serial, outcome: .failure(RPCError(
                code: error["code"]?.intValue ?? RPCError.Code.internalError,
                message: error["message"]?.stringValue ?? "the client reported an error",
                data: error["data"]
            )))
        }
    }

    // MARK: - Encoding

    public func encodeResult(_ result: RawJSON, for request: RPCReplyAddress, into buffer: inout ByteBuffer) {
        buffer.reserveCapacity(buffer.writerIndex + result.bytes.readableBytes + (request.rawID?.readableBytes ?? 4) + 32)
        buffer.writeStaticString(#"{"jsonrpc":"2.0","id":"#)
        var id = request.rawID ?? ByteBuffer(staticString: "null")
        buffer.writeBuffer(&id)
        buffer.writeStaticString(#","result":"#)
        var body = result.bytes
        buffer.writeBuffer(&body)
        buffer.writeInteger(UInt8(ascii: "}"))
    }

    /// The node's own errors with a standard code in aiohttp-json-rpc's words and without `data`
    /// (the details are in the node's debug log); every other error with its own message and data.
    public func encodeError(_ error: RPCError, for request: RPCReplyAddress?, into buffer: inout ByteBuffer) {
        let error = error.jsonRPCSafe
        var object: JSONObject = ["code": .number(JSONNumber(error.code))]
        if error.isNodeStandard, let standard = Self.standardMessage(error.code) {
            object.append("message", .string(standard))
        } else {
            object.append("message", .string(error.summary))
            if let data = error.data ?? error.errors.map(JSONValue.object) { object.append("data", data) }
        }
        buffer.writeStaticString(#"{"jsonrpc":"2.0","error":"#)
        JSONWriter.write(object, into: &buffer)
        if var id = request?.rawID {
            buffer.writeStaticString(#","id":"#)
            buffer.writeBuffer(&id)
        }
        buffer.writeInteger(UInt8(ascii: "}"))
    }

    /// A call; `params` is left out when `null`, as aiohttp-json-rpc's `encode_request` does.
    public func encodeCall(serial: Int, method: String, params: JSONValue, into buffer: inout ByteBuffer) {
        var object: JSONObject = ["jsonrpc": "2.0", "id": .number(JSONNumber(serial)), "method": .string(method)]
        if params != .null { object.append("params", params) }
        JSONWriter.write(object, into: &buffer)
    }

    /// A notification; `params` is left out when `null`.
    public func encodeNotification(method: String, params: JSONValue, into buffer: inout ByteBuffer) {
        var object: JSONObject = ["jsonrpc": "2.0", "method": .string(method)]
        if params != .null { object.append("params", params) }
        JSONWriter.write(object, into: &buffer)
    }

    /// A notification named by the event's `event` member (`"event"` without one), with its
    /// `data` member (the whole event without one) as params.
    public func encodeEvent(_ event: JSONObject, into buffer: inout ByteBuffer) {
        encodeNotification(method: event["event"]?.stringValue ?? "event", params: event["data"] ?? .object(event), into: &buffer)
    }
}
