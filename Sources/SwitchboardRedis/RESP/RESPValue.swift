public import NIOCore

/// A RESP2 reply.
public enum RESPValue: Sendable, Equatable, CustomStringConvertible {
    case simpleString(String)
    case error(String)
    case integer(Int64)
    /// A bulk string; binary-safe.
    case bulkString(ByteBuffer)
    /// `$-1` or `*-1`.
    case null
    case array([RESPValue])

    /// The bytes of a bulk or simple string.
    public var bytes: ByteBuffer? {
        switch self {
        case .bulkString(let buffer): buffer
        case .simpleString(let string): ByteBuffer(string: string)
        default: nil
        }
    }

    /// The text of a bulk or simple string.
    public var string: String? {
        bytes.map { String(buffer: $0) }
    }

    /// The elements of an array reply.
    public var array: [RESPValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// The integer of an integer reply.
    public var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    public var description: String {
        switch self {
        case .simpleString(let s): "+\(s)"
        case .error(let e): "-\(e)"
        case .integer(let i): ":\(i)"
        case .bulkString(let b): "$\(String(buffer: b).debugDescription)"
        case .null: "(nil)"
        case .array(let a): "[\(a.map(\.description).joined(separator: ", "))]"
        }
    }
}
