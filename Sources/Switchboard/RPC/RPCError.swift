/// The `error` object of an error reply: `{"message": ..., "errors": {...}}`.
///
/// Throw it from an RPC method to send exactly this error to the caller. Any other error a
/// method throws is logged and answered with "Internal server error".
public struct RPCError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The human-readable message (clients match on the exact strings of DESIGN §1).
    public var message: String
    /// Field → problem, only for validation errors.
    public var errors: JSONObject?

    public init(message: String, errors: JSONObject? = nil) {
        self.message = message
        self.errors = errors
    }

    /// "Invalid RPC parameters" with the given field errors, in order.
    public static func invalidParameters(_ errors: [(field: String, problem: String)]) -> RPCError {
        RPCError(
            message: invalidParametersMessage,
            errors: JSONObject(errors.map { JSONObject.Member(key: $0.field, value: .string($0.problem)) })
        )
    }

    /// "Invalid RPC parameters" with one field error.
    public static func invalidParameter(_ field: String, _ problem: String) -> RPCError {
        invalidParameters([(field, problem)])
    }

    /// The message of every validation error.
    public static let invalidParametersMessage = "Invalid RPC parameters"
    /// Text that is not JSON.
    public static let notJSON = RPCError(message: "JSON string expected")
    /// Binary frames are refused.
    public static let binaryNotSupported = RPCError(message: "Binary messages are not supported")
    /// A method failed for a reason the caller should not see.
    public static let internalError = RPCError(message: "Internal server error")

    /// JSON that is not an object.
    public static func notAnObject(_ value: JSONValue) -> RPCError {
        RPCError(message: "Malformed message; expected dictionary, got \(value.typeName)")
    }

    /// A method name no one registered.
    public static func unknownMethod(_ name: String) -> RPCError {
        invalidParameter("method", "\(name) method not available")
    }

    /// The socket holds as many subscriptions as it may.
    public static func tooManySubscriptions(limit: Int) -> RPCError {
        invalidParameter("channel", "Too many subscriptions (at most \(limit) per socket)")
    }

    /// The protocol's reply for a broker refusal.
    public init(_ error: BrokerError) {
        switch error {
        case .cannotPublish: self = .invalidParameter("channel", "Cannot publish to channel")
        case .cannotSubscribe: self = .invalidParameter("channel", "Invalid channel")
        }
    }

    public var description: String {
        if let errors { return "\(message) \(JSONValue.object(errors).jsonString)" }
        return message
    }

    /// The `error` object as JSON.
    public var json: JSONObject {
        var object: JSONObject = ["message": .string(message)]
        if let errors { object.append("errors", .object(errors)) }
        return object
    }
}

/// Standard field problems.
public enum FieldProblem {
    public static let required = "required"
    public static let notValidType = "not valid type"
    public static let expectedObject = "expected an object"
}
