public import NIOCore

/// A request that passed envelope validation: `{"id": <string>, "method": <string>,
/// "payload": <object, optional>}`.
public struct RPCRequest: Sendable, Equatable {
    /// The id as sent (a string, or `null`).
    public var id: JSONValue
    /// The method name.
    public var method: String
    /// The payload (`{}` when absent or `null`).
    public var payload: JSONObject

    public init(id: JSONValue, method: String, payload: JSONObject = JSONObject()) {
        self.id = id
        self.method = method
        self.payload = payload
    }
}

/// A request that failed before dispatch: the error and whatever of the envelope is known.
public struct RPCRejection: Error, Sendable, Equatable {
    public var error: RPCError
    /// The request's id, when it had one (any JSON value).
    public var id: JSONValue?
    /// The method, once the envelope itself was valid.
    public var method: String?
}

extension RPCRequest {
    /// Decodes and validates one incoming text message, with the exact errors of docs/protocol.md.
    public static func decode(_ bytes: UnsafeRawBufferPointer) -> Result<RPCRequest, RPCRejection> {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            return .failure(RPCRejection(error: .notJSON))
        }
        guard case .object(let object) = value else {
            return .failure(RPCRejection(error: .notAnObject(value)))
        }
        let id = object["id"]
        var errors: [(field: String, problem: String)] = []
        switch id {
        case nil: errors.append(("id", FieldProblem.required))
        case .string?, .null?: break
        default: errors.append(("id", FieldProblem.notValidType))
        }
        var method = ""
        switch object["method"] {
        case nil: errors.append(("method", FieldProblem.required))
        case .string(let name)?: method = name
        default: errors.append(("method", FieldProblem.notValidType))
        }
        var payload = JSONObject()
        switch object["payload"] {
        case nil, .null?: break
        case .object(let given)?: payload = given
        default: errors.append(("payload", FieldProblem.expectedObject))
        }
        guard errors.isEmpty, let id else {
            return .failure(RPCRejection(error: .invalidParameters(errors), id: id))
        }
        return .success(RPCRequest(id: id, method: method, payload: payload))
    }

    /// Decodes and validates one incoming text message.
    public static func decode(_ buffer: ByteBuffer) -> Result<RPCRequest, RPCRejection> {
        buffer.withUnsafeReadableBytes { decode($0) }
    }

    /// Decodes and validates one incoming text message.
    public static func decode(_ text: String) -> Result<RPCRequest, RPCRejection> {
        var text = text
        return text.withUTF8 { decode(UnsafeRawBufferPointer($0)) }
    }
}

/// Encodes replies: `{"id", "method", "response"}` on success, `{"error", "id"?, "method"?}`
/// on failure.
public enum RPCReply {
    /// Writes a success reply.
    public static func success(id: JSONValue, method: String, response: JSONValue, into buffer: inout ByteBuffer) {
        success(rawID: id.jsonBytes, method: method, response: RawJSON(response), into: &buffer)
    }

    /// The room a result built in its own buffer keeps in front of it, so that its reply can be
    /// written around it there (`success(rawID:method:around:keeping:)`): a frame header and
    /// the envelope, with an id of up to 48 bytes.
    public static let resultHeadroom = ChannelMessageText.headroom + 96

    /// Turns `response`, a result's JSON in a buffer of its own, into its success reply in place:
    /// the envelope in front of it (in the buffer's headroom, `keeping` bytes left before it)
    /// and the closing brace after it. `false`, with the buffer as it was, when the envelope does
    /// not fit or the method's name needs escaping; then the reply is written into a new buffer.
    package static func success(rawID: ByteBuffer, method: String, around response: inout ByteBuffer, keeping: Int) -> Bool {
        guard JSONWriter.needsNoEscape(method) else { return false }
        let fits = response.prependParts(room: headRoom(rawID: rawID, method: method), keeping: keeping) { writer in
            writeHead(rawID: rawID, method: method, into: &writer)
        }
        guard fits else { return false }
        response.writeInteger(UInt8(ascii: "}"))
        return true
    }

    /// `{"id":<id>,"method":"<method>","response":`, the part of a success reply in front of the
    /// response, for a method with nothing to escape; `headRoom` is its length.
    private static func writeHead(rawID: ByteBuffer, method: String, into writer: inout ByteWriter) {
        writer.write(#"{"id":"#)
        writer.write(rawID)
        writer.write(#","method":""#)
        writer.write(utf8: method)
        writer.write(#"","response":"#)
    }

    private static func headRoom(rawID: ByteBuffer, method: String) -> Int {
        #"{"id":,"method":"","response":"#.utf8.count + rawID.readableBytes + method.utf8.count
    }

    /// Writes a success reply from raw JSON parts.
    public static func success(rawID: ByteBuffer, method: String, response: RawJSON, into buffer: inout ByteBuffer) {
        // The usual reply (a method name with nothing to escape): its parts in one access.
        if JSONWriter.needsNoEscape(method) {
            buffer.writeParts(room: headRoom(rawID: rawID, method: method) + response.bytes.readableBytes + 1) { writer in
                writeHead(rawID: rawID, method: method, into: &writer)
                writer.write(response.bytes)
                writer.write(UInt8(ascii: "}"))
            }
            return
        }
        buffer.reserveCapacity(buffer.writerIndex + rawID.readableBytes + method.utf8.count + response.bytes.readableBytes + 40)
        buffer.writeStaticString(#"{"id":"#)
        var id = rawID
        buffer.writeBuffer(&id)
        buffer.writeStaticString(#","method":"#)
        JSONWriter.writeString(method, into: &buffer)
        buffer.writeStaticString(#","response":"#)
        var body = response.bytes
        buffer.writeBuffer(&body)
        buffer.writeInteger(UInt8(ascii: "}"))
    }

    /// Writes an error reply; `id` and `method` are left out when `nil`.
    public static func failure(_ error: RPCError, id: JSONValue?, method: String?, into buffer: inout ByteBuffer) {
        failure(error, rawID: id?.jsonBytes, method: method, into: &buffer)
    }

    /// Writes an error reply with the id as raw JSON; `id` and `method` are left out when `nil`.
    public static func failure(_ error: RPCError, rawID: ByteBuffer?, method: String?, into buffer: inout ByteBuffer) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(128)
        bytes.append(contentsOf: #"{"error":"#.utf8)
        JSONWriter.append(error.json, to: &bytes)
        if let rawID {
            bytes.append(contentsOf: #","id":"#.utf8)
            bytes.append(contentsOf: rawID.readableBytesView)
        }
        if let method {
            bytes.append(contentsOf: #","method":"#.utf8)
            JSONWriter.append(method, to: &bytes)
        }
        bytes.append(UInt8(ascii: "}"))
        buffer.writeBytes(bytes)
    }
}
