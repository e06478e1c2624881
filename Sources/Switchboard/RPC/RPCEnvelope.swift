public import NIOCore

/// A request whose envelope is valid, kept as raw JSON: the id as sent, the method name, and
/// the payload object's text (`nil` when absent or `null`). Decoding validates the whole message
/// once without building a `JSONValue` tree; methods that take raw payloads (`publish`) never
/// build one.
public struct RPCEnvelope: Sendable {
    /// The id's JSON text as sent (a string or `null`).
    public let rawID: ByteBuffer
    /// The method name.
    public let method: String
    /// The payload's JSON text (an object), or `nil` for an absent or `null` payload.
    public let payload: ByteBuffer?

    /// The id, parsed.
    public var id: JSONValue { RawJSON(unchecked: rawID).value }

    /// The payload, parsed (`{}` when absent).
    public var payloadObject: JSONObject {
        guard let payload else { return JSONObject() }
        return RawJSON(unchecked: payload).value.objectValue ?? JSONObject()
    }

    /// Decodes one incoming text message, with the exact errors of `RPCRequest.decode`.
    public static func decode(_ text: ByteBuffer) -> Result<RPCEnvelope, RPCRejection> {
        if let envelope = fastDecode(text) { return .success(envelope) }
        return fullDecode(text)
    }

    /// Anything unusual (and every error) takes the full path, which builds the exact reply.
    /// (Apart from `fastDecode`: its `Result` is large, so the usual case does without it.)
    static func fullDecode(_ text: ByteBuffer) -> Result<RPCEnvelope, RPCRejection> {
        switch RPCRequest.decode(text) {
        case .failure(let rejection):
            return .failure(rejection)
        case .success(let request):
            return .success(RPCEnvelope(rawID: request.id.jsonBytes, method: request.method, payload: JSONValue.object(request.payload).jsonBytes))
        }
    }

    static func fastDecode(_ text: ByteBuffer) -> RPCEnvelope? {
        let parts: (id: Range<Int>, method: String, payload: Range<Int>?)? = text.withUnsafeReadableBytes { bytes in
            var id: Range<Int>?
            var method: Range<Int>?
            var payload: Range<Int>?
            do {
                try JSONParser.forEachMember(in: bytes) { key, value in
                    switch key {
                    case "id": id = value
                    case "method": method = value
                    case "payload": payload = value
                    default: break
                    }
                }
            } catch {
                return nil
            }
            guard let id, let method else { return nil }
            guard bytes[id.lowerBound] == UInt8(ascii: "\"") || bytes[id.lowerBound] == UInt8(ascii: "n") else { return nil }
            guard let name = JSONParser.string(in: UnsafeRawBufferPointer(rebasing: bytes[method])) else { return nil }
            if let range = payload {
                switch bytes[range.lowerBound] {
                case UInt8(ascii: "{"): break
                case UInt8(ascii: "n"): payload = nil
                default: return nil
                }
            }
            return (id, name, payload)
        }
        guard let parts else { return nil }
        return RPCEnvelope(rawID: text.readableSlice(parts.id), method: parts.method, payload: parts.payload.map(text.readableSlice))
    }
}

/// A method that takes its payload as raw JSON and answers with raw JSON (no `JSONValue` tree
/// on either side): for methods on the hot path.
public protocol RawRPCMethod: RPCMethod {
    /// Runs the method on the payload's JSON text (a validated object, `{}` when absent).
    func callRaw(payload: ByteBuffer, context: RPCContext) -> EventLoopFuture<RawJSON>

    /// Runs the method and hands `completion` its result, on `context.eventLoop`: the session's
    /// path, with no future in between. By default it waits for `callRaw`'s future. The result
    /// is handed over, not shared: a result built in a buffer of its own (with
    /// `RPCReply.resultHeadroom` in front) gets its reply written around it, in place.
    func callRaw(payload: ByteBuffer, context: RPCContext, completion: @escaping @Sendable (consuming Result<RawJSON, any Error>) -> Void)
}

extension RawRPCMethod {
    public func callRaw(payload: ByteBuffer, context: RPCContext, completion: @escaping @Sendable (consuming Result<RawJSON, any Error>) -> Void) {
        callRaw(payload: payload, context: context).hop(to: context.eventLoop).whenComplete { completion($0) }
    }
}
