public import NIOCore

/// The request-rate bucket of one socket: `rate` tokens a second on average, bursts of twice
/// that. A message over it is refused; a client that goes on past another burst's worth of
/// refusals is abusive (its transport closes it). Refusals are forgiven only once the client has
/// let the bucket fill up again, so one that keeps pressing at the limit is closed even if a
/// request slips through now and then. Pure: the clock is a parameter.
public struct RequestRateLimiter: Sendable {
    /// What one message gets.
    public enum Decision: Sendable, Equatable {
        /// It may be served.
        case allowed
        /// It is over the rate: answer it with an error.
        case refused
        /// Over the rate again and again: close the connection.
        case abusive
    }

    /// Messages per second on average; `nil`: no limit.
    public let rate: Double?
    private var tokens: Double
    private var filled: NIODeadline
    private var refusals = 0

    /// A full bucket at `now`.
    public init(rate: Double?, now: NIODeadline = .now()) {
        self.rate = rate
        self.tokens = Self.burst(rate)
        self.filled = now
    }

    /// The most tokens the bucket holds: twice the rate (at least one).
    public static func burst(_ rate: Double?) -> Double {
        guard let rate else { return 0 }
        return max(1, rate * 2)
    }

    /// Takes one message's token. The clock is read only when there is a limit.
    public mutating func take(now: @autoclosure () -> NIODeadline = .now()) -> Decision {
        guard let rate else { return .allowed }
        let now = now()
        let burst = Self.burst(rate)
        let elapsed = Double((now - filled).nanoseconds) / 1e9
        tokens = min(burst, tokens + max(0, elapsed) * rate)
        filled = now
        if tokens >= 1 {
            if tokens >= burst - 0.5 { refusals = 0 }
            tokens -= 1
            return .allowed
        }
        refusals += 1
        return Double(refusals) > burst ? .abusive : .refused
    }
}
