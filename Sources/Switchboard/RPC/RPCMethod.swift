public import NIOCore

/// One RPC method. Most applications register closures on `RPCRouter` instead of conforming.
public protocol RPCMethod: Sendable {
    /// When `true`, the socket's next request may start before this one completes (its
    /// replies still go out in order). Only for methods whose effects are ordered elsewhere,
    /// such as `publish`, which the broker keeps in order. Default `false`: requests of one
    /// socket run one after another.
    var pipelined: Bool { get }

    /// The names of the parameters, in order: parameters sent by position (a JSON-RPC array)
    /// are given to the method by these names. Empty (the default): by name only.
    var parameterNames: [String] { get }

    /// Runs the method. Fail the future with `RPCError` to send that error; any other error
    /// becomes "Internal server error" (and is logged).
    func call(payload: JSONObject, context: RPCContext) -> EventLoopFuture<JSONValue>
}

extension RPCMethod {
    public var pipelined: Bool { false }
    public var parameterNames: [String] { [] }
}

/// A method that takes its parameters as sent (an object, an array, one value or none) instead
/// of by name: for protocol built-ins such as JSON-RPC's `subscribe`, whose parameter is a topic
/// or a list of topics.
public protocol ParamsRPCMethod: RPCMethod {
    /// Runs the method on the parameters as sent.
    func call(params: RPCParams, context: RPCContext) -> EventLoopFuture<JSONValue>
}

extension ParamsRPCMethod {
    public func call(payload: JSONObject, context: RPCContext) -> EventLoopFuture<JSONValue> {
        call(params: .object(JSONValue.object(payload).jsonBytes), context: context)
    }
}

/// A method written as an `async` closure over the raw payload.
public struct AsyncRPCMethod: RPCMethod {
    public let handler: @Sendable (JSONObject, RPCContext) async throws -> JSONValue
    public let parameterNames: [String]

    public init(parameters: [String] = [], _ handler: @escaping @Sendable (JSONObject, RPCContext) async throws -> JSONValue) {
        self.handler = handler
        self.parameterNames = parameters
    }

    public func call(payload: JSONObject, context: RPCContext) -> EventLoopFuture<JSONValue> {
        context.eventLoop.makeFutureWithTask { try await handler(payload, context) }
    }
}

/// A method with a typed payload and result: the payload is decoded (every failing field is
/// reported at once, as "required" or "not valid type"), the result encoded.
public struct CodableRPCMethod<Payload: Decodable & Sendable, Result: Encodable & Sendable>: RPCMethod {
    public let handler: @Sendable (Payload, RPCContext) async throws -> Result
    public let parameterNames: [String]

    public init(parameters: [String] = [], _ handler: @escaping @Sendable (Payload, RPCContext) async throws -> Result) {
        self.handler = handler
        self.parameterNames = parameters
    }

    public func call(payload: JSONObject, context: RPCContext) -> EventLoopFuture<JSONValue> {
        let decoded: Payload
        do {
            decoded = try JSONValueDecoder().decode(Payload.self, from: .object(payload))
        } catch {
            return context.eventLoop.makeFailedFuture(error)
        }
        let handler = self.handler
        return context.eventLoop.makeFutureWithTask {
            let result = try await handler(decoded, context)
            return try JSONValueEncoder().encode(result)
        }
    }
}
