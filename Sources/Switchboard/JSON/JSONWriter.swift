public import NIOCore

/// Writes compact JSON text (no spaces). Non-ASCII text is written as UTF-8; only `"`, `\` and
/// control characters are escaped. Text is built in a contiguous byte array and copied into the
/// buffer once (much cheaper than many small buffer writes).
public enum JSONWriter {
    /// Appends the JSON text of `value` to `buffer`.
    public static func write(_ value: JSONValue, into buffer: inout ByteBuffer) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(128)
        append(value, to: &bytes)
        buffer.writeBytes(bytes)
    }

    /// Appends the JSON text of `object` to `buffer`.
    public static func write(_ object: JSONObject, into buffer: inout ByteBuffer) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(128)
        append(object, to: &bytes)
        buffer.writeBytes(bytes)
    }

    /// Whether `string` goes between quotes as it is (no character JSON escapes): method names,
    /// channels and events nearly always do.
    package static func needsNoEscape(_ string: String) -> Bool {
        var string = string
        return string.withUTF8 { utf8 in !utf8.contains { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") } }
    }

    /// Appends `string` as a quoted, escaped JSON string.
    public static func writeString(_ string: String, into buffer: inout ByteBuffer) {
        // Most strings (method names, channels) need no escape: written as they are.
        if needsNoEscape(string) {
            buffer.writeInteger(UInt8(ascii: "\""))
            buffer.writeString(string)
            buffer.writeInteger(UInt8(ascii: "\""))
            return
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(string.utf8.count + 2)
        append(string, to: &bytes)
        buffer.writeBytes(bytes)
    }

    /// Appends the JSON text of `value` to `bytes`.
    public static func append(_ value: JSONValue, to bytes: inout [UInt8]) {
        switch value {
        case .null: bytes.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])  // null
        case .bool(true): bytes.append(contentsOf: [0x74, 0x72, 0x75, 0x65])  // true
        case .bool(false): bytes.append(contentsOf: [0x66, 0x61, 0x6C, 0x73, 0x65])  // false
        case .number(let n): bytes.append(contentsOf: n.literal.utf8)
        case .string(let s): append(s, to: &bytes)
        case .array(let elements):
            bytes.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                append(element, to: &bytes)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let object):
            append(object, to: &bytes)
        }
    }

    /// Appends the JSON text of `object` to `bytes`.
    public static func append(_ object: JSONObject, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "{"))
        for (index, member) in object.members.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            append(member.key, to: &bytes)
            bytes.append(UInt8(ascii: ":"))
            append(member.value, to: &bytes)
        }
        bytes.append(UInt8(ascii: "}"))
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends `string` as a quoted, escaped JSON string.
    public static func append(_ string: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        var string = string
        string.withUTF8 { utf8 in
            var runStart = 0
            for i in 0..<utf8.count {
                let byte = utf8[i]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                if runStart < i { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<i])) }
                runStart = i + 1
                switch byte {
                case UInt8(ascii: "\""): bytes.append(contentsOf: [0x5C, 0x22])
                case UInt8(ascii: "\\"): bytes.append(contentsOf: [0x5C, 0x5C])
                case 0x0A: bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
                case 0x0D: bytes.append(contentsOf: [0x5C, UInt8(ascii: "r")])
                case 0x09: bytes.append(contentsOf: [0x5C, UInt8(ascii: "t")])
                case 0x08: bytes.append(contentsOf: [0x5C, UInt8(ascii: "b")])
                case 0x0C: bytes.append(contentsOf: [0x5C, UInt8(ascii: "f")])
                default:
                    bytes.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]])
                }
            }
            if runStart < utf8.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...])) }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

extension JSONValue {
    /// The compact JSON text of this value.
    public var jsonString: String {
        var bytes: [UInt8] = []
        JSONWriter.append(self, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The compact JSON text of this value as bytes.
    public var jsonBytes: ByteBuffer {
        var buffer = ByteBuffer()
        JSONWriter.write(self, into: &buffer)
        return buffer
    }
}
