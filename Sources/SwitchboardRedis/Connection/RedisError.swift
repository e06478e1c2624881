/// What can go wrong talking to Redis.
public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Redis answered with an error reply.
    case server(String)
    /// The connection closed before the reply came.
    case connectionClosed
    /// No connection could be made in time.
    case connectTimeout
    /// The bytes from Redis are not RESP.
    case protocolError(String)
    /// The URL is not `redis://[user:password@]host:port[/db]`.
    case invalidURL(String)
    /// No reply came in time.
    case timeout

    public var description: String {
        switch self {
        case .server(let message): "Redis error: \(message)"
        case .connectionClosed: "the Redis connection closed"
        case .connectTimeout: "could not connect to Redis in time"
        case .protocolError(let message): message
        case .invalidURL(let url): "not a Redis URL (redis://[user:password@]host:port[/db], rediss:// for TLS, or redis+cluster://host:port,host:port,... with no /db): \(url)"
        case .timeout: "Redis did not answer in time"
        }
    }
}
