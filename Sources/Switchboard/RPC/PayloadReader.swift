/// Reads the fields of a payload and collects every problem, so that a reply lists all failing
/// fields at once.
///
/// ```swift
/// var reader = PayloadReader(payload)
/// let channel = reader.requiredString("channel")
/// let event = reader.optionalString("event")
/// try reader.check()
/// ```
public struct PayloadReader {
    /// The payload being read.
    public let payload: JSONObject
    /// Problems found so far, in field order.
    public private(set) var problems: [(field: String, problem: String)] = []

    public init(_ payload: JSONObject) {
        self.payload = payload
    }

    /// Records a problem for `field`.
    public mutating func fail(_ field: String, _ problem: String) {
        problems.append((field, problem))
    }

    /// A string that must be present (`null` is not a string).
    public mutating func requiredString(_ field: String) -> String {
        switch payload[field] {
        case nil: fail(field, FieldProblem.required)
        case .string(let value)?: return value
        default: fail(field, FieldProblem.notValidType)
        }
        return ""
    }

    /// A string that may be absent or `null` (both give `nil`).
    public mutating func optionalString(_ field: String) -> String? {
        switch payload[field] {
        case nil, .null?: return nil
        case .string(let value)?: return value
        default:
            fail(field, FieldProblem.notValidType)
            return nil
        }
    }

    /// An integer that may be absent or `null`; it must lie in `range`.
    public mutating func optionalInteger(_ field: String, in range: ClosedRange<Int>) -> Int? {
        switch payload[field] {
        case nil, .null?: return nil
        case .number(let number)? where number.intValue.map(range.contains) ?? false: return number.intValue
        case .number?:
            fail(field, "must be an integer from \(range.lowerBound) to \(range.upperBound)")
            return nil
        default:
            fail(field, FieldProblem.notValidType)
            return nil
        }
    }

    /// A value that must be present and pass `accepts` (else "not valid type").
    public mutating func required(_ field: String, accepts: (JSONValue) -> Bool) -> JSONValue {
        guard let value = payload[field] else {
            fail(field, FieldProblem.required)
            return .null
        }
        guard accepts(value) else {
            fail(field, FieldProblem.notValidType)
            return .null
        }
        return value
    }

    /// Throws "Invalid RPC parameters" with every problem, if there is any.
    public func check() throws(RPCError) {
        guard problems.isEmpty else { throw RPCError.invalidParameters(problems) }
    }
}
