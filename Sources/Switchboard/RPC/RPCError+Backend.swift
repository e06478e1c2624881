/// The errors of the application's backend (docs/proxy.md).
extension RPCError {
    /// The error a backend answered, as it said it: its code, message, data and (for wsrpc
    /// clients) exception type.
    public static func fromBackend(code: Int, message: String, data: JSONValue?, type: String?) -> RPCError {
        var error = RPCError(code: code, message: message, data: data, exceptionType: type)
        error.fromBackend = true
        return error
    }

    /// The backend could not answer (down, slow, too many requests at once, an answer that is
    /// not one of the documented shapes): code -32603 and the reason.
    public static func backendUnavailable(proxy: String, reason: String) -> RPCError {
        RPCError(code: Code.internalError, message: "Backend unavailable (\(proxy) proxy): \(reason)", exceptionType: "BackendUnavailable")
    }

    /// The codes aiohttp-json-rpc's client takes: the standard ones and -32099…-32000. A
    /// backend's code outside them is sent as -32000 with `{"code", "data"}` in `data`, since
    /// that client refuses any other code.
    public var jsonRPCSafe: RPCError {
        let standard = [Code.parseError, Code.invalidRequest, Code.methodNotFound, Code.invalidParams, Code.internalError]
        guard fromBackend, !standard.contains(code), !Code.serverDefined.contains(code) else { return self }
        var error = self
        error.code = Code.serverError
        var data: JSONObject = ["code": .number(JSONNumber(code))]
        if let original = self.data { data["data"] = original }
        error.data = .object(data)
        return error
    }
}
