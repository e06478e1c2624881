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

    /// The encoding of a `JSONValue`.
    public init(_ value: JSONValue) {
        self.bytes = value.jsonBytes
    }

    /// The value, parsed.
    public var value: JSONValue {
        (try? bytes.withUnsafeReadableBytes { try JSONParser.parse($0) }) ?? .null
    }

    public var description: String { String(buffer: bytes) }
}
