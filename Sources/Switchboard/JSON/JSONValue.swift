/// A JSON document as Switchboard carries it: numbers keep the exact text they were written with
/// (big integers and long decimals survive a round trip), objects keep their key order, and
/// strings keep every Unicode scalar (including `\u0000`).
///
/// ```swift
/// let value = try JSONValue(parsing: #"{"n": 123456789012345678901234567890}"#)
/// value.jsonString  // {"n":123456789012345678901234567890}
/// ```
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)
}

extension JSONValue {
    /// The name of this value's JSON type, as used in error messages: `null`, `bool`, `int`,
    /// `float`, `str`, `list` or `dict`.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "bool"
        case .number(let n): n.isInteger ? "int" : "float"
        case .string: "str"
        case .array: "list"
        case .object: "dict"
        }
    }

    /// The string, if this is a JSON string.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The object, if this is a JSON object.
    public var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// The array, if this is a JSON array.
    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// The number as `Int`, if this is an integer that fits.
    public var intValue: Int? {
        if case .number(let n) = self { return n.intValue }
        return nil
    }

    /// The number as `Double`, if this is a number.
    public var doubleValue: Double? {
        if case .number(let n) = self { return n.doubleValue }
        return nil
    }

    /// The bool, if this is `true` or `false`.
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// `true` for JSON `null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The value, or `nil` for JSON `null` (an absent member and a `null` one read alike).
    /// Mind that `nil` in a `JSONValue` context is `null`: write `value?.nonNull`, never
    /// `value == .null ? nil : value`, which gives `.null`.
    public var nonNull: JSONValue? {
        if case .null = self { return Optional.none }
        return self
    }

    /// Member lookup for objects (`nil` for other types or a missing key).
    public subscript(key: String) -> JSONValue? {
        objectValue?[key]
    }
}

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(JSONNumber(value)) }
    public init(floatLiteral value: Double) { self = .number(JSONNumber(value)) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(JSONObject(elements.map { JSONObject.Member(key: $0.0, value: $0.1) }))
    }
}

extension JSONValue: CustomStringConvertible {
    /// The compact JSON text of this value.
    public var description: String { jsonString }
}
