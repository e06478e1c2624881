/// A JSON number kept as the literal text it was written with, so that integers of any size and
/// decimals of any precision pass through Switchboard unchanged.
public struct JSONNumber: Sendable, Hashable, CustomStringConvertible {
    /// The number's JSON literal, for example `-12.50e3`.
    public let literal: String

    /// Creates a number from a JSON number literal; `nil` if `literal` is not one.
    public init?(literal: String) {
        var copy = literal
        let valid = copy.withUTF8 { JSONNumber.isValidLiteral(UnsafeRawBufferPointer($0)) }
        guard valid else { return nil }
        self.literal = literal
    }

    /// Creates a number from a literal already validated by the parser.
    init(unchecked literal: String) {
        self.literal = literal
    }

    /// Creates an integer number.
    public init<I: BinaryInteger>(_ value: I) {
        self.literal = String(value)
    }

    /// Creates a number from a `Double`; non-finite values become `0`.
    public init(_ value: Double) {
        if !value.isFinite {
            self.literal = "0"
        } else if value == value.rounded(.towardZero), abs(value) < 1e15 {
            self.literal = String(Int64(value))
        } else {
            self.literal = "\(value)"
        }
    }

    /// `true` when the literal has no fraction and no exponent.
    public var isInteger: Bool {
        !literal.utf8.contains { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }
    }

    /// The value as `Int`, when it is an integer literal that fits.
    public var intValue: Int? { isInteger ? Int(literal) : nil }

    /// The value as `Double` (possibly rounded).
    public var doubleValue: Double? { Double(literal) }

    public var description: String { literal }

    /// Checks the JSON number grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    static func isValidLiteral(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        let n = bytes.count
        func digit(_ i: Int) -> Bool { i < n && bytes[i] >= 0x30 && bytes[i] <= 0x39 }
        if i < n, bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard digit(i) else { return false }
        if bytes[i] == UInt8(ascii: "0") {
            i += 1
        } else {
            while digit(i) { i += 1 }
        }
        if i < n, bytes[i] == UInt8(ascii: ".") {
            i += 1
            guard digit(i) else { return false }
            while digit(i) { i += 1 }
        }
        if i < n, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            if i < n, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard digit(i) else { return false }
            while digit(i) { i += 1 }
        }
        return i == n
    }
}
