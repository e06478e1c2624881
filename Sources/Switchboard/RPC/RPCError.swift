/// An RPC error, as every protocol reports it: `/stream` sends `{"message", "errors"?}`
/// (docs/protocol.md), JSON-RPC `{"code", "message", "data"?}`, wsrpc `{"type", "message"}`.
///
/// Throw it from an RPC method to send exactly this error to the caller, whatever its code: its
/// message, data and (for wsrpc clients) exception type are sent as they are. Any other error a
/// method throws is logged and answered with "Internal server error". The errors the node makes
/// itself with a standard code (not JSON, not a request, no such method, parameters that do not
/// fit, a method that failed) are sent in each protocol's own words: JSON-RPC clients get
/// aiohttp-json-rpc's standard messages and no `data`.
///
/// ```swift
/// throw RPCError(code: -32050, message: "Computer says no.")
/// ```
public struct RPCError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The JSON-RPC 2.0 error code: one of `Code`'s standard codes, or a server-defined code
    /// from -32000 to -32099.
    public var code: Int
    /// The human-readable message (`/stream` clients match on the exact strings of docs/protocol.md).
    public var message: String
    /// Field → problem, only for validation errors.
    public var errors: JSONObject?
    /// More about the error, for JSON-RPC's `data` (the field problems when absent).
    public var data: JSONValue?
    /// The exception class name a wsrpc client sees in `error.type` (`ValueError`, `KeyError`…);
    /// `nil`: the one that goes with `code` (`TypeError` for parameters that do not fit,
    /// `NotImplementedError` for no such method…).
    public var exceptionType: String?
    /// The message a wsrpc client sees, where wsrpc-aiohttp words it differently (`nil`: `summary`).
    var exceptionMessage: String?
    /// `true` for the node's own errors with a standard code, which each protocol words its
    /// own way; an error an application makes is sent with its own message.
    var isNodeStandard = false
    /// `true` for an error the application's backend answered (docs/proxy.md): `/stream` shows
    /// its `code` and `data` too, JSON-RPC keeps its code inside the range clients take.
    public internal(set) var fromBackend = false

    /// The JSON-RPC 2.0 error codes.
    public enum Code {
        /// The text is not JSON.
        public static let parseError = -32700
        /// The JSON is not a valid request.
        public static let invalidRequest = -32600
        /// No such method (or one this connection may not call).
        public static let methodNotFound = -32601
        /// The parameters do not fit the method.
        public static let invalidParams = -32602
        /// The method failed.
        public static let internalError = -32603
        /// The first server-defined code: refusals and limits.
        public static let serverError = -32000
        /// The connection may not do this (a channel or method its identity does not allow).
        public static let permissionDenied = -32010
        /// The connection's token expired, or a token was refused.
        public static let authenticationFailed = -32011
        /// The connection sends requests faster than it may.
        public static let rateLimited = -32012
        /// The reply would be larger than the node sends for one request.
        public static let replyTooLarge = -32013
        /// Server-defined codes.
        public static let serverDefined = -32099 ... -32000
    }

    /// An error with a message and, for validation errors, the failing fields (code
    /// `invalidParams` when there are fields, else `serverError`).
    public init(message: String, errors: JSONObject? = nil) {
        self.init(code: errors == nil ? Code.serverError : Code.invalidParams, message: message, errors: errors)
    }

    /// An error with a JSON-RPC code; `data` goes to JSON-RPC's `data`, `exceptionType` to wsrpc's
    /// `error.type`.
    public init(code: Int, message: String, errors: JSONObject? = nil, data: JSONValue? = nil, exceptionType: String? = nil) {
        self.code = code
        self.message = message
        self.errors = errors
        self.data = data
        self.exceptionType = exceptionType
    }

    /// The same error, as one the node made itself (worded by each protocol).
    var fromNode: RPCError {
        var error = self
        error.isNodeStandard = true
        return error
    }

    public static func == (lhs: RPCError, rhs: RPCError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message && lhs.errors == rhs.errors && lhs.data == rhs.data
            && lhs.exceptionType == rhs.exceptionType
    }

    /// "Invalid RPC parameters" with the given field errors, in order.
    public static func invalidParameters(_ errors: [(field: String, problem: String)]) -> RPCError {
        RPCError(
            code: Code.invalidParams,
            message: invalidParametersMessage,
            errors: JSONObject(errors.map { JSONObject.Member(key: $0.field, value: .string($0.problem)) })
        ).fromNode
    }

    /// "Invalid RPC parameters" with one field error.
    public static func invalidParameter(_ field: String, _ problem: String) -> RPCError {
        invalidParameters([(field, problem)])
    }

    /// The message of every validation error.
    public static let invalidParametersMessage = "Invalid RPC parameters"
    /// Text that is not JSON.
    public static let notJSON = RPCError(code: Code.parseError, message: "JSON string expected").fromNode
    /// Binary frames are refused.
    public static let binaryNotSupported = RPCError(code: Code.invalidRequest, message: "Binary messages are not supported").fromNode
    /// A method failed for a reason the caller should not see.
    public static let internalError = RPCError(code: Code.internalError, message: "Internal server error").fromNode

    /// JSON that is not an object.
    public static func notAnObject(_ value: JSONValue) -> RPCError {
        RPCError(code: Code.invalidRequest, message: "Malformed message; expected dictionary, got \(value.typeName)").fromNode
    }

    /// A reply (or a batch's replies together) larger than a node sends for one request.
    public static func replyTooLarge(limit: Int, batch: Bool) -> RPCError {
        RPCError(
            code: Code.replyTooLarge,
            message: batch
                ? "Reply too large: a batch's replies may take at most \(limit) bytes; send fewer requests per batch"
                : "Reply too large: at most \(limit) bytes; ask for less (a smaller limit, a narrower query)"
        )
    }

    /// A JSON-RPC batch with more entries than a node takes.
    public static func batchTooLarge(limit: Int) -> RPCError {
        RPCError(code: Code.invalidRequest, message: "Invalid Request: a batch may hold at most \(limit) requests").fromNode
    }

    /// A method name no one registered (or one this connection may not call).
    public static func unknownMethod(_ name: String) -> RPCError {
        var error = invalidParameter("method", "\(name) method not available")
        error.code = Code.methodNotFound
        return error
    }

    /// The socket holds as many subscriptions as it may.
    public static func tooManySubscriptions(limit: Int) -> RPCError {
        var error = invalidParameter("channel", "Too many subscriptions (at most \(limit) per socket)")
        error.isNodeStandard = false  // a refusal that says why, not a parameter problem
        return error
    }

    /// The connection may not subscribe to, or publish on, the channel; `reason` says what the
    /// channel's rule asks for (in JSON-RPC's `data` and wsrpc's message; `/stream` keeps its
    /// field map).
    public static func permissionDenied(_ action: AccessPolicy.Action, reason: String? = nil) -> RPCError {
        var error = invalidParameter("channel", "Permission denied: this connection may not \(action.rawValue) here")
        error.code = Code.permissionDenied
        error.isNodeStandard = false
        if let reason {
            var data = error.errors ?? JSONObject()
            data["reason"] = .string(reason)
            error.data = .object(data)
        }
        return error
    }

    /// The protocol's reply for a broker refusal (a parameter error on the channel, as docs/protocol.md
    /// has it).
    public init(_ error: BrokerError) {
        switch error {
        case .cannotPublish: self = .invalidParameter("channel", "Cannot publish to channel")
        case .cannotSubscribe: self = .invalidParameter("channel", "Invalid channel")
        }
    }

    /// A broker refusal with the reason: `/stream` clients see docs/protocol.md's reply unchanged
    /// (`{"channel": "Cannot publish to channel"}`), JSON-RPC gets `{…, "reason"}` in `data`, and
    /// wsrpc the reason in its message.
    public static func channelRefused(_ error: BrokerError, reason: String) -> RPCError {
        var refusal = RPCError(error)
        refusal.isNodeStandard = false  // it says why
        var data = refusal.errors ?? JSONObject()
        data["reason"] = .string(reason)
        refusal.data = .object(data)
        return refusal
    }

    /// The reason of a refusal made by `channelRefused`.
    public var reason: String? { data?["reason"]?.stringValue }

    public var description: String {
        if let errors { return "\(message) \(JSONValue.object(errors).jsonString)" }
        return message
    }

    /// One line for protocols without a field map: the field problems for validation errors
    /// (`channel: Cannot publish to channel`), else the message.
    public var summary: String {
        guard let errors, !errors.isEmpty, message == Self.invalidParametersMessage else { return message }
        let problems = errors.map { member in "\(member.key): \(member.value.stringValue ?? member.value.jsonString)" }.joined(separator: "; ")
        return reason.map { "\(problems) (\($0))" } ?? problems
    }

    /// The `/stream` error object: `{"message", "errors"?}` (and `code`, `data` for a backend's
    /// error).
    public var json: JSONObject {
        var object: JSONObject = ["message": .string(message)]
        if let errors { object.append("errors", .object(errors)) }
        if fromBackend {
            object.append("code", .number(JSONNumber(code)))
            if let data { object.append("data", data) }
        }
        return object
    }
}

/// Standard field problems.
public enum FieldProblem {
    public static let required = "required"
    public static let notValidType = "not valid type"
    public static let expectedObject = "expected an object"
}
