import CoreMetrics
public import Logging
public import NIOCore

/// The RPC side of one socket, whatever its protocol: the codec reads each text frame into
/// requests, replies and events; the session runs the requests' methods, sends their replies,
/// and carries the node's calls to the client.
///
/// How replies are ordered is the protocol's (`RPCCodec.answersInRequestOrder`):
/// - `/stream` answers in the order the requests came. Requests run one after another, except
///   that a run of pipelined methods (`publish`) may be in flight together, since the broker
///   keeps their order; bad requests are answered in their turn too. A method that calls its
///   client (`RPCSocket.call`) leaves the order at that moment, so the socket goes on while it
///   waits.
/// - `/jsonrpc` and `/wsrpc` run every request at once and answer each as it completes, as
///   aiohttp-json-rpc and wsrpc-aiohttp do (their ids pair the answers); a slow method never
///   holds a later reply. A JSON-RPC batch is answered with one array, in request order.
///
/// Either way requests start in the order they came, so publishes of one socket reach the broker,
/// and every subscriber, in that order. A notification is answered with nothing. Answers to the
/// node's calls are taken as they come, never queued behind requests.
///
/// A session lives on its socket's event loop and is touched only there.
public final class RPCSession {
    /// Bounds for one socket.
    public struct Configuration: Sendable {
        /// Requests that may wait or run at once; past it the transport should stop reading.
        public var maxPendingRequests: Int
        /// Calls to the client that may wait for an answer at once; past it a call fails.
        public var maxPendingCalls: Int
        /// Messages the socket may send per second, on average (`nil`: no limit). Bursts of
        /// twice that pass; a request over it is answered with an error (code -32012), and a
        /// socket that goes on past another burst's worth of refusals is reported (`onAbuse`).
        /// Every inbound message takes its share: requests, malformed ones, binary frames,
        /// events, and each entry of a batch.
        public var requestsPerSecond: Double?
        /// Most entries of one JSON-RPC batch; a larger batch is answered with one error.
        public var maxBatchSize: Int
        /// Most bytes of one reply (a batch's replies together); a result past it is answered
        /// with an error instead, so a small request cannot make the node hold a huge reply.
        public var maxReplyBytes: Int

        public init(
            maxPendingRequests: Int = 512,
            maxPendingCalls: Int = 64,
            requestsPerSecond: Double? = nil,
            maxBatchSize: Int = 100,
            maxReplyBytes: Int = 4 << 20 + 64 << 10
        ) {
            self.maxPendingRequests = maxPendingRequests
            self.maxPendingCalls = maxPendingCalls
            self.requestsPerSecond = requestsPerSecond
            self.maxBatchSize = maxBatchSize
            self.maxReplyBytes = maxReplyBytes
        }
    }

    enum SlotState {
        case waiting(RPCIncomingRequest, RPCRouter.Entry)
        case running
        /// Done: the reply to send (`nil`: nothing, for a notification).
        case ready(ByteBuffer?)
        /// Its method called the client: its reply goes out on its own when it comes.
        case detached
    }

    struct Slot {
        var sequential: Bool
        var state: SlotState
        var batch: BatchReplies?
    }

    /// The replies of one batch, collected in order.
    final class BatchReplies {
        var replies: [ByteBuffer] = []
        var bytes = 0
        var remaining: Int

        init(remaining: Int) {
            self.remaining = remaining
        }
    }

    struct PendingCall {
        let method: String
        let promise: EventLoopPromise<JSONValue>
        let timer: Scheduled<Void>
    }

    /// The socket's id, unique in the cluster (`<node-id>.<n>`).
    public let socketName: String
    /// Who is on the connection (changed by `login`, `logout` and refreshed tokens).
    public internal(set) var identity: Identity {
        didSet { contextShared = nil }
    }
    /// What the contexts of this connection's requests share, made once per identity.
    var contextShared: RPCContext.Shared?
    /// Who may do what on this node.
    public let access: AccessPolicy
    /// The socket's protocol.
    public let codec: any RPCCodec
    let router: RPCRouter
    let hub: Hub
    let socketID: SocketID
    let eventLoop: any EventLoop
    let logger: Logger
    let configuration: Configuration
    let metrics: SwitchboardMetrics
    let makeBuffer: () -> ByteBuffer
    let send: (consuming ByteBuffer) -> Void
    let flush: () -> Void
    let link: RPCSessionLink
    /// `codec.answersInRequestOrder`, read once.
    let inOrder: Bool
    /// `access.publishesAskBackend`, read once.
    let publishesAskBackend: Bool

    // Requests answered in order (all of `/stream`'s; JSON-RPC batches).
    /// Read and changed in place, moved out on removal (`Deque` and NIO's `CircularBuffer` copy
    /// a slot, request and all, on each read and change).
    let slots = InPlaceQueue<Slot>()
    @exclusivity(unchecked) var firstSequence: UInt64 = 0
    @exclusivity(unchecked) var started = 0
    @exclusivity(unchecked) var running = 0
    @exclusivity(unchecked) var runningSequential = 0
    @exclusivity(unchecked) var detached = Set<UInt64>()
    @exclusivity(unchecked) var pumping = false
    @exclusivity(unchecked) var pumpAgain = false
    /// Requests running outside the order (JSON-RPC and wsrpc requests not in a batch).
    @exclusivity(unchecked) var unordered = 0
    @exclusivity(unchecked) var closed = false

    /// The node's calls to the client waiting for answers.
    @exclusivity(unchecked) var calls: ClientCallTable<PendingCall>
    /// Since the token expired: when the connection is closed unless a new token comes.
    var refreshDeadline: NIODeadline?
    var limiter: RequestRateLimiter
    /// The registered method looked up last, by name: a socket sends one method again and again,
    /// and its name is then compared, not hashed, per request.
    @exclusivity(unchecked) var lastMethod: (name: String, entry: RPCRouter.Entry)?
    var reportedAbuse = false

    /// The headers of the WebSocket upgrade that go to the application's backend with every
    /// proxied request (set by the transport before the first request).
    public var forwardedHeaders: [HTTPHeaderField] = [] {
        didSet { contextShared = nil }
    }

    /// Called (on the loop) when the session had been full and can take requests again.
    public var onCapacityAvailable: (() -> Void)?
    /// Called (on the loop) with each event the client sends (wsrpc messages without an id).
    public var onEvent: ((JSONValue) -> Void)?
    /// Called (on the loop) when the client abuses the connection (it keeps sending over its
    /// request rate): the transport should close it (1008).
    public var onAbuse: ((String) -> Void)?

    /// Creates a session.
    /// - Parameters:
    ///   - codec: the socket's protocol (`StreamCodec` by default).
    ///   - socketName: the socket's cluster-wide id (`socketID`'s description by default).
    ///   - makeBuffer: returns an empty buffer to write a reply into (the transport may leave
    ///     headroom for its frame header).
    ///   - send: writes one message (without flushing).
    ///   - flush: flushes what `send` wrote.
    public init(
        codec: any RPCCodec = StreamCodec(),
        router: RPCRouter,
        hub: Hub,
        socketID: SocketID,
        socketName: String? = nil,
        identity: Identity = .anonymous,
        access: AccessPolicy = .open,
        eventLoop: any EventLoop,
        logger: Logger,
        configuration: Configuration = Configuration(),
        metrics: SwitchboardMetrics = SwitchboardMetrics(),
        makeBuffer: @escaping () -> ByteBuffer = { ByteBuffer() },
        send: @escaping (consuming ByteBuffer) -> Void,
        flush: @escaping () -> Void = {}
    ) {
        self.codec = codec
        self.inOrder = codec.answersInRequestOrder
        self.router = router
        self.hub = hub
        self.socketID = socketID
        self.socketName = socketName ?? "\(socketID)"
        self.identity = identity
        self.access = access
        self.publishesAskBackend = access.publishesAskBackend
        self.eventLoop = eventLoop
        self.logger = logger
        self.configuration = configuration
        self.metrics = metrics
        self.makeBuffer = makeBuffer
        self.send = send
        self.flush = flush
        self.calls = ClientCallTable(firstSerial: codec.firstCallSerial ?? 0, step: codec.callSerialStep, limit: configuration.maxPendingCalls)
        self.limiter = RequestRateLimiter(rate: configuration.requestsPerSecond)
        self.link = RPCSessionLink(eventLoop: eventLoop)
        link.bind(self)
    }

    /// `true` while the session can take more requests.
    public var hasCapacity: Bool { pendingCount < configuration.maxPendingRequests }

    /// Number of requests waiting, running, or with a reply not yet sent.
    public var pendingCount: Int { slots.count + unordered }

    /// Number of calls to the client waiting for an answer.
    public var pendingCallCount: Int { calls.count }

    /// This socket as its methods see it.
    public var socket: RPCSocket { RPCSocket(id: socketName, protocolName: codec.name, link: link, request: nil) }

    // MARK: - Receiving

    /// Handles one text message.
    public func receive(text: ByteBuffer) {
        eventLoop.preconditionInEventLoop()
        guard !closed else { return }
        let wasFull = !hasCapacity
        switch codec.decode(text) {
        case .single(let message):
            accept(admitted(message), batch: nil)
        case .batch(let messages) where messages.count > configuration.maxBatchSize:
            let error: RPCError = takeToken() ? .batchTooLarge(limit: configuration.maxBatchSize) : rateError
            metrics.rpcError(.malformed)
            logger.debug("batch too large", metadata: ["entries": "\(messages.count)", "limit": "\(configuration.maxBatchSize)"])
            answer(encodeError(error, for: nil), batch: nil)
        case .batch(let messages):
            let admitted = messages.map(admitted)
            // Every request and rejection takes a slot of the batch (a notification's holds no reply).
            let answered = admitted.count { message in
                switch message {
                case .request, .invalid: true
                case .reply, .event, .ignored: false
                }
            }
            let batch = answered > 0 ? BatchReplies(remaining: answered) : nil
            for message in admitted { accept(message, batch: batch) }
        }
        pump(wasFull: wasFull)
    }

    /// Answers a binary message: with the protocol's error, in turn, or not at all.
    public func receiveBinary() {
        guard !closed else { return }
        metrics.rpcError(.binary)
        let error = takeToken() ? codec.binaryFrameError : rateError
        guard let error else { return }
        answer(encodeError(error, for: nil), batch: nil)
        pump(wasFull: false)
    }

    /// Takes one inbound message's share of the rate; `false` when it is over it (reported to
    /// `onAbuse` once the client keeps going).
    func takeToken() -> Bool {
        switch limiter.take() {
        case .allowed:
            return true
        case .abusive where !reportedAbuse:
            reportedAbuse = true
            logger.warning("request rate exceeded again and again: closing", metadata: ["limit_per_s": "\(configuration.requestsPerSecond ?? 0)"])
            onAbuse?("request rate exceeded")
        case .refused, .abusive:
            break
        }
        metrics.refusal(.rate)
        return false
    }

    var rateError: RPCError {
        RPCError(code: RPCError.Code.rateLimited, message: "Too many requests: at most \(configuration.requestsPerSecond ?? 0) per second on one connection")
    }

    /// `message` if the rate allows it, else what stands in for it: the rate error for a request
    /// or a malformed message, nothing for a notification or an event. Answers to the node's own
    /// calls take their share but are always read.
    func admitted(_ message: consuming RPCInboundMessage) -> RPCInboundMessage {
        guard !takeToken() else { return message }
        switch message {
        case .request(let request): return request.isNotification ? .ignored : .invalid(rateError, address: request.address)
        case .invalid(_, let address): return .invalid(rateError, address: address)
        case .reply: return message
        case .event, .ignored: return .ignored
        }
    }

    /// The entry the session's identity may call under `name` (the router's answer).
    func entry(named name: String) -> RPCRouter.Entry? {
        if let last = lastMethod, last.name == name { return router.permitted(last.entry, for: { identity }) }
        guard let entry = router.registered(named: name) else { return router.forwarded(named: name) }
        lastMethod = (name, entry)
        return router.permitted(entry, for: { identity })
    }

    func accept(_ message: consuming RPCInboundMessage, batch: BatchReplies?) {
        // Consumed: the request moves into its slot, not copied.
        switch consume message {
        case .request(let request):
            if let entry = entry(named: request.method) {
                if !inOrder, batch == nil {
                    runUnordered(request, entry)
                } else {
                    // A publish the backend may have to allow waits its turn, so that the
                    // socket's publishes still reach the broker in order.
                    let sequential = inOrder && (!entry.method.pipelined || (entry.raw != nil && publishesAskBackend))
                    slots.append(Slot(sequential: sequential, state: .waiting(request, entry), batch: batch))
                }
            } else {
                metrics.rpcError(.unknownMethod)
                answer(request.isNotification ? nil : encodeError(router.unknownMethodError(request.method), for: request.address), batch: batch)
            }
        case .invalid(let error, let address):
            logger.debug("rejected request", metadata: ["error": "\(error)"])
            metrics.rpcError(Self.kind(ofRejection: error))
            answer(encodeError(error, for: address), batch: batch)
        case .reply(let serial, let outcome):
            answered(serial: serial, outcome: outcome)
        case .event(let event):
            if let onEvent {
                onEvent(event)
            } else {
                logger.debug("event from the client ignored")
            }
        case .ignored:
            break
        }
    }

    /// A reply known at once: sent now when replies go out as they come, else queued in turn.
    func answer(_ reply: ByteBuffer?, batch: BatchReplies?) {
        if !inOrder, batch == nil {
            if let reply {
                send(reply)
                flush()
            }
        } else {
            slots.append(Slot(sequential: false, state: .ready(reply), batch: batch))
        }
    }

    /// Drops every pending request and fails every pending call; late results are ignored. A
    /// transport closes its session when the socket goes: until then the session's link (held by
    /// its requests' sockets) keeps it.
    public func close() {
        guard !closed else { return }
        closed = true
        link.unbind()
        let groups = link.groups.close()
        if !groups.isEmpty { hub.enqueue(.closeRouteGroups(groups)) }
        slots.removeAll()
        detached.removeAll()
        for call in calls.removeAll() {
            call.timer.cancel()
            call.promise.fail(RPCError.connectionClosed)
        }
    }

    // MARK: - Errors

    static func kind(ofRejection error: RPCError) -> SwitchboardMetrics.RPCErrorKind {
        switch error.code {
        case RPCError.Code.parseError: .notJSON
        case RPCError.Code.invalidRequest: .malformed
        case RPCError.Code.methodNotFound: .unknownMethod
        default: .validation
        }
    }

    static func kind(of error: any Error) -> SwitchboardMetrics.RPCErrorKind {
        switch error {
        case is RPCError: .validation
        case is BrokerError: .broker
        default: .internal
        }
    }

    /// The error the caller sees for `error`: RPC and broker errors as they are, anything else
    /// as "Internal server error" (logged with the request id).
    static func rpcError(for error: any Error, logger: Logger) -> RPCError {
        switch error {
        case let error as RPCError:
            return error
        case let error as BrokerError:
            return RPCError(error)
        default:
            logger.error("RPC method failed", metadata: ["error": "\(String(reflecting: error))"])
            return .internalError
        }
    }
}
