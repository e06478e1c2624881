public import Switchboard

/// What can go wrong for a client.
public enum SwitchboardClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server answered with an error: its `error` object.
    case rpc(method: String, error: RPCError)
    /// The connection is closed (with the server's close code, if it sent one).
    case closed(code: UInt16?, reason: String)
    /// The server did not answer `method` within the call timeout (`ClientConfiguration.callTimeout`).
    case timedOut(method: String, after: Duration)
    /// The URL is not a `ws://` URL.
    case invalidURL(String)
    /// The server's reply could not be understood.
    case unexpectedReply(String)
    /// The request cannot be sent in this protocol (say, positional params on `/stream`).
    case unsupported(String)

    public var description: String {
        switch self {
        case .rpc(let method, let error): "\(method) failed: \(error)"
        case .closed(let code, let reason):
            switch (code, reason.isEmpty) {
            case (let code?, true): "connection closed (\(code))"
            case (let code?, false): "connection closed (\(code) \(reason))"
            case (nil, true): "connection closed"
            case (nil, false): "connection closed (\(reason))"
            }
        case .timedOut(let method, let after): "no reply to \(method) within \(after)"
        case .invalidURL(let message): message
        case .unexpectedReply(let text): "unexpected reply: \(text)"
        case .unsupported(let text): text
        }
    }
}
