public import NIOCore

/// A request's parameters as the client sent them: by name (an object), by position (an array),
/// a single value, or none. Methods see them by name: positions are mapped onto the method's
/// `parameterNames` in order (JSON-RPC), and a single value counts as a one-element array.
public enum RPCParams: Sendable {
    /// No parameters (absent or `null`).
    case none
    /// By name: the JSON text of an object, already validated.
    case object(ByteBuffer)
    /// By position.
    case array([JSONValue])
    /// One value that is neither an object nor an array.
    case value(JSONValue)

    /// The parameters from a parsed value (`null` is none).
    public init(_ value: JSONValue?) {
        switch value {
        case nil, .null?: self = .none
        case .object(let object)?: self = .object(JSONValue.object(object).jsonBytes)
        case .array(let values)?: self = .array(values)
        case let value?: self = .value(value)
        }
    }

    /// The parameters by position: an object's values are not positions, so it gives `nil`.
    public var positional: [JSONValue]? {
        switch self {
        case .none: []
        case .object: nil
        case .array(let values): values
        case .value(let value): [value]
        }
    }

    /// The parameters as one JSON value (`null` when none).
    public var value: JSONValue {
        switch self {
        case .none: .null
        case .object(let text): RawJSON(unchecked: text).value
        case .array(let values): .array(values)
        case .value(let value): value
        }
    }

    /// The parameters by name for a method whose parameters are `names`: an object as it is,
    /// positions mapped onto `names` in order, positions past the last name dropped (as
    /// aiohttp-json-rpc does). Throws "Invalid RPC parameters" for positions given to a method
    /// that names no parameters.
    public func byName(_ names: [String]) throws(RPCError) -> JSONObject {
        switch self {
        case .none:
            return JSONObject()
        case .object(let text):
            return RawJSON(unchecked: text).value.objectValue ?? JSONObject()
        case .array, .value:
            let values = positional ?? []
            guard !names.isEmpty || values.isEmpty else {
                throw RPCError.invalidParameter("params", "this method takes its parameters by name")
            }
            return JSONObject(zip(names, values).map { JSONObject.Member(key: $0, value: $1) })
        }
    }
}
