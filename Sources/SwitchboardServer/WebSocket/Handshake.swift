import NIOCore
import NIOHTTP1
import Switchboard
import SwitchboardWebSocket

/// The decision on a connection's first request (RFC 6455 §4.2): a WebSocket upgrade to accept,
/// one to refuse with a status and a JSON body that says why, or plain HTTP. Pure: no I/O, so
/// every rule is unit-tested without sockets.
enum Handshake {
    /// An upgrade to accept: the endpoint, the `Sec-WebSocket-Accept` source key, what was
    /// negotiated, and the token to check (if any).
    struct Acceptance {
        let endpoint: RPCEndpoint
        let key: String
        let deflate: PerMessageDeflate?
        /// The `Sec-WebSocket-Protocol` to answer with, when the client offered some.
        let subprotocol: String?
        let token: String?
    }

    /// A refusal: status, extra headers, and `{"message": …, …}`.
    struct Refusal: Error {
        let status: HTTPResponseStatus
        let body: JSONObject
        var headers: [(String, String)] = []
        /// What the access model counts it as, if it is an access refusal.
        var refusal: SwitchboardMetrics.RefusalKind? = nil
    }

    enum Outcome {
        /// Not a WebSocket upgrade (also `Upgrade: h2c`): serve it as plain HTTP/1.1.
        case http
        case accept(Acceptance)
        case refuse(Refusal)
    }

    /// What the node's limits see at the moment of the request.
    struct Load {
        var connections: Int
        var connectionsFromAddress: Int
    }

    /// The refusal of one more connection under `load`, if a limit is reached.
    static func limitRefusal(_ load: Load, security: SecurityConfiguration) -> Refusal? {
        if let limit = security.maxConnections, load.connections >= limit {
            return Refusal(
                status: .serviceUnavailable,
                body: ["message": .string("this node holds as many connections as it may (\(limit)): try another node")],
                headers: [("Retry-After", "1")],
                refusal: .limit
            )
        }
        if let limit = security.maxConnectionsPerIP, load.connectionsFromAddress >= limit {
            return Refusal(
                status: .tooManyRequests,
                body: ["message": .string("too many connections from your address (at most \(limit))")],
                headers: [("Retry-After", "1")],
                refusal: .limit
            )
        }
        return nil
    }

    /// The decision on a request head. The connection limits are checked apart
    /// (`limitRefusal`), when the gate counts the accepted connection.
    static func decide(
        _ head: HTTPRequestHead,
        endpoints: [String: RPCEndpoint],
        security: SecurityConfiguration,
        compression: Bool,
        connectProxy: Bool = false
    ) -> Outcome {
        let headers = head.headers
        let upgrade = headers[canonicalForm: "upgrade"].map { $0.lowercased() }
        guard upgrade.contains("websocket") else { return .http }
        let (path, query) = split(head.uri)
        guard let endpoint = endpoints[path] else {
            return .refuse(Refusal(status: .notFound, body: [
                "message": .string("no WebSocket endpoint at \(path.clippedForLog)"),
                "paths": .array(endpoints.keys.sorted().map(JSONValue.string)),
            ]))
        }
        guard head.method == .GET else {
            return .refuse(Refusal(
                status: .methodNotAllowed,
                body: ["message": .string("a WebSocket upgrade must be a GET request, not \(head.method.rawValue)")],
                headers: [("Allow", "GET")]
            ))
        }
        guard head.version.major == 1, head.version.minor >= 1 else {
            return .refuse(Refusal(status: .badRequest, body: ["message": "a WebSocket upgrade needs HTTP/1.1"]))
        }
        guard headers[canonicalForm: "connection"].contains(where: { $0.lowercased() == "upgrade" }) else {
            return .refuse(Refusal(status: .badRequest, body: ["message": "a WebSocket upgrade needs \"Connection: Upgrade\""]))
        }
        guard headers[canonicalForm: "sec-websocket-version"].map(String.init) == ["13"] else {
            return .refuse(Refusal(
                status: .upgradeRequired,
                body: ["message": "unsupported WebSocket version: this node speaks version 13"],
                headers: [("Sec-WebSocket-Version", "13")]
            ))
        }
        guard let key = headers.first(name: "sec-websocket-key"), isValidKey(key) else {
            return .refuse(Refusal(status: .badRequest, body: ["message": "a WebSocket upgrade needs a Sec-WebSocket-Key of 16 bytes in base64"]))
        }
        // RFC 6455 §4.1: the opening handshake has no body. One announced would hold the
        // connection until it comes.
        if headers.contains(name: "transfer-encoding") || headers[canonicalForm: "content-length"].contains(where: { $0 != "0" }) {
            return .refuse(Refusal(status: .badRequest, body: ["message": "a WebSocket upgrade request has no body (no Content-Length or Transfer-Encoding)"]))
        }
        if let origin = headers.first(name: "origin"), !security.allows(origin: origin) {
            return .refuse(Refusal(status: .forbidden, body: ["message": .string("origin \(origin.clippedForLog) is not allowed to connect")], refusal: .origin))
        }
        let offered = headers[canonicalForm: "sec-websocket-protocol"].map(String.init)
        let (token, subprotocol) = findToken(query: query, headers: headers, offered: offered)
        // With a connect proxy, a connection without a token is the backend's to decide.
        if token == nil, security.policy.mode == .required, !connectProxy {
            return .refuse(Refusal(
                status: .unauthorized,
                body: ["message": "a token is required", "reason": "no token: send ?token=, an Authorization: Bearer header, or the token as a WebSocket subprotocol"],
                headers: [("WWW-Authenticate", "Bearer")],
                refusal: .connect
            ))
        }
        let deflate = compression ? PerMessageDeflate.negotiate(offers: headers[canonicalForm: "sec-websocket-extensions"].map(String.init)) : nil
        return .accept(Acceptance(endpoint: endpoint, key: key, deflate: deflate, subprotocol: subprotocol, token: token))
    }

    /// The request path and query.
    static func split(_ uri: String) -> (path: String, query: Substring) {
        guard let mark = uri.firstIndex(of: "?") else { return (uri, "") }
        return (String(uri[..<mark]), uri[uri.index(after: mark)...])
    }

    /// The token: `?token=`, `Authorization: Bearer`, or an offered subprotocol that is a JWT
    /// (browsers cannot set headers: `new WebSocket(url, ["switchboard", token])`). Also the
    /// subprotocol to answer with: `switchboard` when offered, else the token itself.
    static func findToken(query: Substring, headers: HTTPHeaders, offered: [String]) -> (token: String?, subprotocol: String?) {
        let protocols = offered.flatMap { $0.split(separator: ",").map { String($0.filter { $0 != " " }) } }.filter { !$0.isEmpty }
        let fromProtocol = protocols.first { $0.split(separator: ".").count == 3 }
        let answer: String? = protocols.isEmpty ? nil : (protocols.contains("switchboard") ? "switchboard" : fromProtocol ?? protocols[0])
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2, parts[0] == "token", !parts[1].isEmpty { return (percentDecoded(parts[1]), answer) }
        }
        if let authorization = headers.first(name: "authorization"), authorization.lowercased().hasPrefix("bearer ") {
            return (String(authorization.dropFirst("bearer ".count).trimmingPrefix(" ")), answer)
        }
        return (fromProtocol, answer)
    }

    private static func percentDecoded(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(),
                let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
            } else {
                bytes.append(byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A key is 16 bytes in base64: 24 characters, the last two `==`.
    static func isValidKey(_ key: String) -> Bool {
        let bytes = Array(key.utf8)
        guard bytes.count == 24, bytes[22] == UInt8(ascii: "="), bytes[23] == UInt8(ascii: "=") else { return false }
        return bytes[..<22].allSatisfy { byte in
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "/")
        }
    }
}
