public import NIOCore

/// JSON text that was validated once and is passed on as bytes, without being parsed into a
/// `JSONValue` and encoded again (the publish path: data goes from the publisher to Redis and to
/// every subscriber exactly as sent).
public struct RawJSON: Sendable, CustomStringConvertible {
    /// The JSON text.
    public let bytes: ByteBuffer

    /// Wraps bytes already known to be one valid JSON value.
    public init(unchecked bytes: ByteBuffer) {
        self.bytes = bytes
    }

    /// Validates `bytes` as one JSON value.
    public init(validating bytes: ByteBuffer) throws(JSONParseError) {
        let result: Result<Void, JSONParseError> = bytes.withUnsafeReadableBytes { raw in
            do throws(JSONParseError) {
                var end = try JSONParser.skipValue(in: raw, from: JSONParser.firstNonWhitespace(in: raw, from: 0))
                end = JSONParser.firstNonWhitespace(in: raw, from: end)
                guard end == raw.count else { throw JSONParseError(reason: "unexpected data after the JSON value", offset: end) }
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try result.get()
        self.bytes = bytes
    }

    /// The encoding of a `JSONValue`.
    public init(_ value: JSONValue) {
        self.bytes = value.jsonBytes
    }

    /// The value, parsed.
    public var value: JSONValue {
        (try? bytes.withUnsafeReadableBytes { try JSONParser.parse($0) }) ?? .null
    }

    /// The first byte (after whitespace): `"`, `{`, `[`, `n`, `t`, `f`, `-` or a digit.
    public var firstByte: UInt8? {
        bytes.withUnsafeReadableBytes { raw in
            let index = JSONParser.firstNonWhitespace(in: raw, from: 0)
            return index < raw.count ? raw[index] : nil
        }
    }

    public var description: String { String(buffer: bytes) }
}
