import NIOCore

/// What nodes send each other's inboxes for calls and events to sockets (`SocketCalls`): one JSON
/// object per message.
///
/// ```
/// {"type": "call", "id": 7, "from": "node-a", "socket": "node-b.3", "method": "multiply", "params": {…}, "timeout_ms": 10000}
/// {"type": "emit", "id": 8, "from": "node-a", "socket": "node-b.3", "event": {…}}
/// {"type": "reply", "id": 7, "from": "node-b", "socket": "node-b.3", "result": 42}
/// {"type": "reply", "id": 8, "from": "node-b", "socket": "node-b.3", "failure": {"kind": "missing"}}
/// ```
struct InboxMessage: Sendable {
    enum Kind: Sendable {
        case call(method: String, params: JSONValue, timeout: Duration)
        case emit(JSONObject)
        case reply(Result<JSONValue, SocketCalls.Failure>)
    }

    /// The sender's number for the exchange (the reply carries the request's).
    let id: UInt64
    /// The sending node.
    let from: String
    /// The socket called.
    let socket: String
    let kind: Kind

    static func call(from node: String, socket: String, method: String, params: JSONValue, timeout: Duration) -> InboxMessage {
        InboxMessage(id: 0, from: node, socket: socket, kind: .call(method: method, params: params, timeout: timeout))
    }

    static func emit(from node: String, socket: String, event: JSONObject) -> InboxMessage {
        InboxMessage(id: 0, from: node, socket: socket, kind: .emit(event))
    }

    static func reply(to request: InboxMessage, result: JSONValue) -> InboxMessage {
        InboxMessage(id: request.id, from: request.from, socket: request.socket, kind: .reply(.success(result)))
    }

    static func reply(to request: InboxMessage, failure: SocketCalls.Failure) -> InboxMessage {
        InboxMessage(id: request.id, from: request.from, socket: request.socket, kind: .reply(.failure(failure)))
    }

    /// The message as JSON text, numbered `id`.
    func encoded(id: UInt64) -> ByteBuffer {
        var object: JSONObject = [
            "id": .number(JSONNumber(id)),
            "from": .string(from),
            "socket": .string(socket),
        ]
        switch kind {
        case .call(let method, let params, let timeout):
            object["type"] = "call"
            object["method"] = .string(method)
            object["params"] = params
            object["timeout_ms"] = .number(JSONNumber(Int(timeout.components.seconds) * 1000 + Int(timeout.components.attoseconds / 1_000_000_000_000_000)))
        case .emit(let event):
            object["type"] = "emit"
            object["event"] = .object(event)
        case .reply(.success(let value)):
            object["type"] = "reply"
            object["result"] = value
        case .reply(.failure(let failure)):
            object["type"] = "reply"
            object["failure"] = .object(Self.encode(failure))
        }
        return JSONValue.object(object).jsonBytes
    }

    /// Reads a message; `nil` when it is not one (logged by nobody: a node's inbox is its own).
    init?(_ text: ByteBuffer) {
        guard case .object(let object)? = try? text.withUnsafeReadableBytes({ try JSONParser.parse($0) }),
            let id = object["id"]?.intValue, id >= 0,
            let from = object["from"]?.stringValue,
            let socket = object["socket"]?.stringValue
        else { return nil }
        let kind: Kind
        switch object["type"]?.stringValue {
        case "call":
            guard let method = object["method"]?.stringValue else { return nil }
            let milliseconds = min(max(object["timeout_ms"]?.intValue ?? 10_000, 1), 3_600_000)
            kind = .call(method: method, params: object["params"] ?? .object([:]), timeout: .milliseconds(milliseconds))
        case "emit":
            guard let event = object["event"]?.objectValue else { return nil }
            kind = .emit(event)
        case "reply":
            if let failure = object["failure"]?.objectValue {
                kind = .reply(.failure(Self.decode(failure, socket: socket)))
            } else {
                kind = .reply(.success(object["result"] ?? .null))
            }
        default:
            return nil
        }
        self.init(id: UInt64(id), from: from, socket: socket, kind: kind)
    }

    private init(id: UInt64, from: String, socket: String, kind: Kind) {
        self.id = id
        self.from = from
        self.socket = socket
        self.kind = kind
    }

    private static func encode(_ failure: SocketCalls.Failure) -> JSONObject {
        switch failure {
        case .noSuchSocket: ["kind": "missing"]
        case .timedOut(_, let method): ["kind": "timeout", "method": .string(method)]
        case .unavailable(let reason): ["kind": "unavailable", "reason": .string(reason)]
        case .client(let error):
            ["kind": "client", "code": .number(JSONNumber(error.code)), "message": .string(error.message), "data": error.data ?? error.errors.map(JSONValue.object) ?? .null]
        }
    }

    private static func decode(_ object: JSONObject, socket: String) -> SocketCalls.Failure {
        switch object["kind"]?.stringValue {
        case "timeout": return .timedOut(socket: socket, method: object["method"]?.stringValue ?? "")
        case "unavailable": return .unavailable(object["reason"]?.stringValue ?? "unavailable")
        case "client":
            let data = object["data"]?.nonNull
            return .client(RPCError(code: object["code"]?.intValue ?? RPCError.Code.serverError, message: object["message"]?.stringValue ?? "", data: data))
        default: return .noSuchSocket(socket)
        }
    }
}
