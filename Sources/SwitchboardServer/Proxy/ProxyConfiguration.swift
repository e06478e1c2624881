import Foundation
public import Switchboard

/// Where the node asks the application's backend (docs/proxy.md): on connect, for RPC methods
/// it does not define, and for subscribes and publishes on channels whose rule says `proxy`.
/// Each is an HTTP endpoint that takes a JSON `POST`.
public struct ProxyConfiguration: Sendable, Equatable {
    /// One backend endpoint.
    public struct Endpoint: Sendable, Equatable {
        /// `http://` or `https://` URL the node posts to.
        public var url: String
        /// How long the backend has to answer, in seconds (default 5).
        public var timeoutSeconds: Double
        /// Headers of the client's WebSocket upgrade sent along (`Cookie`, `Authorization`,
        /// `X-Forwarded-For`…), case-insensitive.
        public var headers: [String]
        /// RPC only: globs of the method names forwarded (empty: every name the node does not
        /// define).
        public var methods: [String]
        /// Most requests to this endpoint in flight at once on one node; past it a call is
        /// refused at once ("backend unavailable: too many requests at once").
        public var maxConcurrent: Int
        /// Most bytes of one answer; a larger one is refused.
        public var maxAnswerBytes: Int

        public init(
            url: String,
            timeoutSeconds: Double = ProxyConfiguration.defaultTimeoutSeconds,
            headers: [String] = ProxyConfiguration.defaultHeaders,
            methods: [String] = [],
            maxConcurrent: Int = 256,
            maxAnswerBytes: Int = 1 << 20
        ) {
            self.url = url
            self.timeoutSeconds = timeoutSeconds
            self.headers = headers
            self.methods = methods
            self.maxConcurrent = maxConcurrent
            self.maxAnswerBytes = maxAnswerBytes
        }

        /// Why the endpoint cannot be used, if it cannot (for the configuration's error).
        public var problem: String? {
            let lower = url.lowercased()
            guard lower.hasPrefix("http://") || lower.hasPrefix("https://"), let parsed = URL(string: url), parsed.host?.isEmpty == false else {
                return "must be an http:// or https:// URL (got \(url))"
            }
            guard timeoutSeconds > 0 else { return "timeout must be greater than 0" }
            guard maxConcurrent > 0 else { return "max_concurrent must be at least 1" }
            for glob in methods {
                if let problem = GlobPattern.problem(glob) { return "method pattern \(glob): \(problem)" }
            }
            return nil
        }
    }

    /// The default timeout of every proxy, in seconds.
    public static let defaultTimeoutSeconds: Double = 5
    /// The upgrade headers sent along by default.
    public static let defaultHeaders = ["Cookie", "Authorization", "X-Forwarded-For", "User-Agent", "Origin"]

    /// Asked on every WebSocket upgrade without a valid token: who this is.
    public var connect: Endpoint?
    /// Asked for every RPC method the node does not define (and `methods` takes).
    public var rpc: Endpoint?
    /// Asked for subscribes to channels whose `subscribe` rule is `proxy`.
    public var subscribe: Endpoint?
    /// Asked for publishes on channels whose `publish` rule is `proxy`.
    public var publish: Endpoint?

    public init(connect: Endpoint? = nil, rpc: Endpoint? = nil, subscribe: Endpoint? = nil, publish: Endpoint? = nil) {
        self.connect = connect
        self.rpc = rpc
        self.subscribe = subscribe
        self.publish = publish
    }

    /// `true` when no proxy is configured.
    public var isEmpty: Bool { connect == nil && rpc == nil && subscribe == nil && publish == nil }

    /// Every configured endpoint with its name (`connect`, `rpc`, `subscribe`, `publish`).
    public var endpoints: [(name: String, endpoint: Endpoint)] {
        [("connect", connect), ("rpc", rpc), ("subscribe", subscribe), ("publish", publish)].compactMap { name, endpoint in
            endpoint.map { (name, $0) }
        }
    }

    /// Every header name some proxy forwards, lowercased.
    public var forwardedHeaderNames: Set<String> {
        Set(endpoints.flatMap { $0.endpoint.headers.map { $0.lowercased() } })
    }

    /// Why the configuration cannot work with `rules`, if it cannot: an endpoint that is not
    /// usable, or a channel rule that says `proxy` with no proxy for it.
    public func problem(rules: [ChannelRule]) -> String? {
        for (name, endpoint) in endpoints {
            if let problem = endpoint.problem { return "proxy.\(name): \(problem)" }
        }
        for rule in rules {
            if rule.subscribe == .proxy, subscribe == nil {
                return "the channel rule \(rule.match) says subscribe: proxy, but no subscribe proxy is configured (proxy.subscribe or --proxy-subscribe)"
            }
            if rule.publish == .proxy, publish == nil {
                return "the channel rule \(rule.match) says publish: proxy, but no publish proxy is configured (proxy.publish or --proxy-publish)"
            }
        }
        return nil
    }
}
