/// Reads a backend's answer (docs/proxy.md): `{"result": …}` or `{"error": {"code", "message",
/// "data"?, "type"?}}`. Pure, so every shape, good or bad, is unit-tested.
public enum ProxyAnswer {
    /// The answer's outcome: the result, or the backend's own error.
    public static func read(_ answer: JSONValue, proxy: String) -> Result<JSONValue, RPCError> {
        guard case .object(let object) = answer else {
            return .failure(.backendUnavailable(proxy: proxy, reason: "the backend answered \(answer.typeName), not an object with result or error"))
        }
        if let error = object["error"], error != .null {
            return .failure(backendError(error, proxy: proxy))
        }
        guard let result = object["result"] else {
            return .failure(.backendUnavailable(proxy: proxy, reason: "the backend's answer has neither result nor error"))
        }
        return .success(result)
    }

    /// The backend's `error` member as the error the client sees.
    static func backendError(_ error: JSONValue, proxy: String) -> RPCError {
        guard case .object(let object) = error else {
            if case .string(let message) = error {
                return RPCError.fromBackend(code: RPCError.Code.serverError, message: message, data: nil, type: nil)
            }
            return .backendUnavailable(proxy: proxy, reason: "the backend's error is \(error.typeName), not an object with code and message")
        }
        let code = object["code"]?.intValue ?? RPCError.Code.serverError
        let message = object["message"]?.stringValue ?? "Backend error"
        return RPCError.fromBackend(code: code, message: message, data: object["data"]?.nonNull, type: object["type"]?.stringValue)
    }

    /// What a connect answer grants: `{"result": {"user", "permissions", "channels", "data"}}`.
    public struct Grant: Sendable, Equatable {
        public var user: String?
        public var permissions: [String]
        /// Channels the socket is subscribed to at once (server-side subscriptions).
        public var channels: [String]
        /// Data for the client (sent as a `connect` event).
        public var data: JSONValue?
        /// Anything about the user others may see (presence, `info`).
        public var info: JSONValue?

        public init(user: String?, permissions: [String] = [], channels: [String] = [], data: JSONValue? = nil, info: JSONValue? = nil) {
            self.user = user
            self.permissions = permissions
            self.channels = channels
            self.data = data
            self.info = info
        }
    }

    /// Why a connect was refused: the HTTP status to answer the upgrade with, and the reason.
    public struct ConnectRefusal: Error, Sendable, Equatable {
        public var status: Int
        public var message: String

        public init(status: Int, message: String) {
            self.status = status
            self.message = message
        }
    }

    /// Reads a connect answer.
    public static func readConnect(_ answer: JSONValue, proxy: String = "connect") -> Result<Grant, ConnectRefusal> {
        switch read(answer, proxy: proxy) {
        case .failure(let error):
            guard error.fromBackend else { return .failure(ConnectRefusal(status: 502, message: error.message)) }
            // The code is the HTTP status to refuse with; anything else refuses with 403.
            let status = (400...599).contains(error.code) ? error.code : 403
            return .failure(ConnectRefusal(status: status, message: error.message))
        case .success(let result):
            guard case .object(let object) = result else {
                return .failure(ConnectRefusal(status: 502, message: "backend unavailable (connect): the result is \(result.typeName), not an object"))
            }
            func strings(_ key: String) -> [String]? {
                guard let value = object[key]?.nonNull else { return [] }
                guard case .array(let items) = value else { return nil }
                let texts = items.compactMap(\.stringValue)
                return texts.count == items.count ? texts : nil
            }
            guard let permissions = strings("permissions"), let channels = strings("channels") else {
                return .failure(ConnectRefusal(status: 502, message: "backend unavailable (connect): permissions and channels must be lists of strings"))
            }
            if let user = object["user"]?.nonNull, user.stringValue == nil {
                return .failure(ConnectRefusal(status: 502, message: "backend unavailable (connect): user must be a string"))
            }
            return .success(Grant(
                user: object["user"]?.stringValue,
                permissions: permissions,
                channels: channels,
                data: object["data"]?.nonNull,
                info: object["info"]?.nonNull
            ))
        }
    }

    /// Reads a subscribe or publish answer: `{"result": {}}`, or `{"result": {"data": …}}` to
    /// publish other data. Returns the rewritten data, if any.
    public static func readChannel(_ answer: JSONValue, proxy: String) -> Result<JSONValue?, RPCError> {
        switch read(answer, proxy: proxy) {
        case .failure(let error):
            return .failure(error)
        case .success(let result):
            switch result {
            case .object(let object): return .success(object["data"])
            case .null: return .success(nil)
            default:
                return .failure(.backendUnavailable(proxy: proxy, reason: "the result is \(result.typeName), not an object"))
            }
        }
    }
}
