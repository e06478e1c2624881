public import Logging
public import NIOCore
import NIOPosix
public import Switchboard
import SwitchboardWebSocket
import Synchronization

/// A Switchboard client: RPC calls, publish, and subscriptions as async sequences, over
/// `/stream` or `/jsonrpc` (picked by the URL's path, or `ClientConfiguration.wireProtocol`).
///
/// ```swift
/// let client = try await SwitchboardClient.connect(to: "ws://127.0.0.1:8080/stream")
/// let news = try await client.subscribe(channel: "news")
/// try await client.publish(channel: "news", data: ["headline": "hello"])
/// for try await message in news {
///     print(message.data)
/// }
/// ```
///
/// Replies are matched to calls by id, so calls may be made from many tasks at once.
public final class SwitchboardClient: Sendable {
    /// The stream of one subscription (or of every message, see `allMessages()`).
    public typealias Subscription = AsyncThrowingStream<ChannelMessage, any Error>

    struct Pending {
        let method: String
        let continuation: CheckedContinuation<JSONValue, any Error>
    }

    struct LocalSubscription {
        /// `nil` for the every-message stream.
        let channel: String?
        let event: String?
        let pattern: GlobPattern
        let continuation: Subscription.Continuation
    }

    struct State {
        var channel: (any Channel)?
        var nextID: UInt64 = 0
        var pending: [String: Pending] = [:]
        var subscriptions: [UInt64: LocalSubscription] = [:]
        var closed: SwitchboardClientError?
        var closing = false
        var reconnecting = false
        var lastClose: (code: UInt16?, reason: String)?
        /// The last position seen per history channel: where a reconnection recovers from.
        var positions: [String: StreamPosition] = [:]
        /// Work the client started on its own (reconnecting, a token refresh): `close()` ends it.
        var tasks: [UInt64: Task<Void, Never>] = [:]
        var nextTask: UInt64 = 0
    }

    /// The URL the client connects to.
    public let url: String
    /// How the client connects.
    public let configuration: ClientConfiguration
    /// The protocol it speaks.
    public let wireProtocol: ClientProtocol
    let target: WebSocketURL
    let eventLoopGroup: any EventLoopGroup
    let logger: Logger
    let state = Mutex(State())

    private init(url: String, target: WebSocketURL, configuration: ClientConfiguration, eventLoopGroup: any EventLoopGroup, logger: Logger) {
        self.url = url
        self.target = target
        self.configuration = configuration
        self.wireProtocol = configuration.wireProtocol ?? ClientProtocol(url: url)
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    /// Connects to a node's `/stream` URL (`ws://host:port/stream`) or `/jsonrpc` URL.
    public static func connect(
        to url: String,
        configuration: ClientConfiguration = ClientConfiguration(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "switchboard.client")
    ) async throws -> SwitchboardClient {
        let target: WebSocketURL
        do {
            target = try WebSocketURL(url)
        } catch {
            throw SwitchboardClientError.invalidURL(error.description)
        }
        let client = SwitchboardClient(url: url, target: target, configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger)
        let channel = try await client.openConnection()
        client.state.withLock { $0.channel = channel }
        return client
    }

    func openConnection() async throws -> any Channel {
        var token = configuration.token
        if let provider = configuration.tokenProvider, let fresh = await provider() { token = fresh }
        return try await WebSocketClientConnection.connect(
            to: target,
            eventLoopGroup: eventLoopGroup,
            compression: configuration.compression,
            connectTimeout: TimeAmount(configuration.connectTimeout),
            headers: token.map { [("Authorization", "Bearer \($0)")] } ?? [],
            tls: configuration.tls,
            callbacks: WebSocketClientCallbacks(
                onText: { [weak self] text, _ in self?.received(text) },
                onClose: { [weak self] code, reason in self?.connectionClosed(code: code, reason: reason) }
            )
        )
    }

    /// The close code the server sent when the connection was last lost (for example 1001 when
    /// a node went away), `nil` if it closed without one or never closed.
    public var lastCloseCode: UInt16? {
        state.withLock { $0.lastClose?.code }
    }

    /// `true` while connected (after a reconnection: once every subscription was restored).
    public var isConnected: Bool {
        state.withLock { $0.channel != nil && !$0.reconnecting && $0.closed == nil }
    }

    // MARK: - Calls

    /// Calls `method` and returns its `response`; throws `SwitchboardClientError.rpc` with the
    /// server's error when it answers with an error.
    @discardableResult
    public func call(_ method: String, payload: JSONObject = JSONObject()) async throws -> JSONValue {
        try await call(method, params: .object(payload))
    }

    /// Calls `method` with `params`: an object (by name) on either protocol; on JSON-RPC also an
    /// array (by position) or a single value.
    @discardableResult
    public func call(_ method: String, params: JSONValue) async throws -> JSONValue {
        let (id, channel): (UInt64, (any Channel)?) = try state.withLock { state in
            if let closed = state.closed { throw closed }
            state.nextID += 1
            return (state.nextID, state.channel)
        }
        guard let channel else { throw SwitchboardClientError.closed(code: nil, reason: "reconnecting") }
        var text = ByteBuffer()
        switch wireProtocol {
        case .stream:
            guard case .object(let payload) = params else {
                throw SwitchboardClientError.unsupported("/stream methods take their parameters as a JSON object")
            }
            RPCRequestWriter.write(id: "c\(id)", method: method, payload: payload, into: &text)
        case .jsonRPC:
            JSONWriter.write(.object(["jsonrpc": "2.0", "id": .number(JSONNumber(id)), "method": .string(method), "params": params]), into: &text)
        }
        let key = wireProtocol == .stream ? "c\(id)" : "\(id)"
        let timeout = configuration.callTimeout
        return try await withCheckedThrowingContinuation { continuation in
            state.withLock { $0.pending[key] = Pending(method: method, continuation: continuation) }
            WebSocketClientConnection.send(text: text, on: channel).whenFailure { [weak self] error in
                self?.fail(id: key, with: SwitchboardClientError.closed(code: nil, reason: "\(error)"))
            }
            if let timeout {
                channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) { [weak self] in
                    self?.fail(id: key, with: SwitchboardClientError.timedOut(method: method, after: timeout))
                }
            }
        }
    }

    /// Calls `method` with an `Encodable` payload and decodes the response.
    public func call<Payload: Encodable, Response: Decodable>(
        _ method: String,
        _ payload: Payload,
        as type: Response.Type = Response.self
    ) async throws -> Response {
        guard case .object(let object) = try JSONValueEncoder().encode(payload) else {
            throw SwitchboardClientError.unexpectedReply("the payload must encode to a JSON object")
        }
        return try JSONValueDecoder().decode(Response.self, from: try await call(method, payload: object))
    }

    /// Publishes `data` on `channel`; returns the server's `{"channel", "event", "data"}`.
    @discardableResult
    public func publish(channel: String, data: JSONValue, event: String? = nil) async throws -> JSONValue {
        var payload: JSONObject = ["channel": .string(channel), "data": data]
        if let event { payload["event"] = .string(event) }
        return try await call("publish", payload: payload)
    }

    /// The position of the last message seen on a history channel (`nil` before any): give it
    /// to `subscribe(channel:event:since:)` to get what was missed. After a reconnection the
    /// client recovers from it by itself.
    public func position(of channel: String) -> StreamPosition? {
        state.withLock { $0.positions[channel] }
    }

    /// Subscribes to `channel` (events matching the glob `event`, `*` by default) and returns
    /// its messages. The subscription is active at the server when this returns. JSON-RPC topics
    /// carry no event: there `event` must be `nil` or `*`.
    ///
    /// On a channel with history, `since` (a position from an earlier message) first delivers
    /// every message published after it, then the live ones: none lost, none twice. Whether that
    /// was everything is `recovery(of:)`'s answer.
    public func subscribe(channel: String, event: String? = nil, since: StreamPosition? = nil) async throws -> Subscription {
        let pattern = EventName.pattern(event)
        if wireProtocol == .jsonRPC, pattern != "*" {
            throw SwitchboardClientError.unsupported("JSON-RPC topics carry no event: subscribe to every event of \(channel)")
        }
        let (stream, continuation) = Subscription.makeStream()
        let key = register(LocalSubscription(channel: channel, event: event, pattern: GlobPattern(pattern), continuation: continuation))
        if let since { state.withLock { $0.positions[channel] = since } }
        do {
            try await subscribeAtServer(channel: channel, pattern: pattern, since: since)
        } catch {
            _ = state.withLock { $0.subscriptions.removeValue(forKey: key) }
            continuation.finish(throwing: error)
            throw error
        }
        return stream
    }

    func subscribeAtServer(channel: String, pattern: String, since: StreamPosition? = nil) async throws {
        switch wireProtocol {
        case .stream:
            var payload: JSONObject = ["channel": .string(channel), "event": .string(pattern)]
            if let since { payload["since"] = .object(since.json) }
            let response = try await call("subscribe", payload: payload)
            if response["recovered"] == false {
                logger.warning("could not recover every message missed", metadata: ["channel": "\(channel)", "reason": "\(response["reason"]?.stringValue ?? "")"])
            }
        case .jsonRPC:
            let topics = try await call("subscribe", params: .string(channel))
            guard topics.arrayValue?.contains(.string(channel)) ?? false else {
                throw SwitchboardClientError.rpc(method: "subscribe", error: RPCError.invalidParameter("channel", "\(channel) is not a topic of this node"))
            }
        }
    }

    /// Removes one pattern (`*` by default) of `channel`; returns what this socket still holds.
    /// Local streams of that channel and pattern end.
    @discardableResult
    public func unsubscribe(channel: String, event: String? = nil) async throws -> JSONObject {
        let pattern = EventName.pattern(event)
        let held: JSONObject
        switch wireProtocol {
        case .stream:
            let response = try await call("unsubscribe", payload: Self.subscriptionPayload(channel: channel, event: event))
            held = response["subscribed"]?.objectValue ?? JSONObject()
        case .jsonRPC:
            let topics = try await call("unsubscribe", params: .string(channel))
            held = JSONObject((topics.arrayValue ?? []).compactMap(\.stringValue).map { JSONObject.Member(key: $0, value: ["*"]) })
        }
        let ended = state.withLock { state in
            let keys = state.subscriptions.filter { $0.value.channel == channel && EventName.pattern($0.value.event) == pattern }.map(\.key)
            return keys.compactMap { state.subscriptions.removeValue(forKey: $0) }
        }
        for subscription in ended { subscription.continuation.finish() }
        return held
    }

    /// Every message this socket receives, whatever the subscription.
    public func allMessages() -> Subscription {
        let (stream, continuation) = Subscription.makeStream()
        register(LocalSubscription(channel: nil, event: nil, pattern: GlobPattern("*"), continuation: continuation))
        return stream
    }

    /// Closes the connection (close code 1000), ends every subscription, and returns once the
    /// client's own work (a reconnection, a token refresh) has ended.
    public func close() async {
        let (channel, tasks) = state.withLock { state -> ((any Channel)?, [Task<Void, Never>]) in
            state.closing = true
            return (state.channel, Array(state.tasks.values))
        }
        if let channel {
            try? await WebSocketClientConnection.close(channel).get()
        }
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
        // A reconnection that got through while closing leaves its connection: closed too.
        if let late = state.withLock({ $0.channel }), late !== channel {
            try? await WebSocketClientConnection.close(late).get()
        }
        finish(with: nil)
    }
}
