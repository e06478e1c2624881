import CoreMetrics
public import Logging
public import NIOCore

/// The RPC side of one socket, whatever its protocol: the codec reads each text frame into
/// requests, replies and events; the session runs the requests' methods and sends the replies
/// in the order the requests came, and carries the node's calls to the client.
///
/// Requests run one after another, except that a run of pipelined methods (`publish`) may be
/// in flight together, since the broker keeps their order. Bad requests are answered in their
/// turn too; a JSON-RPC batch is answered with one array once all its requests are done, and a
/// notification with nothing. A method that calls its client (`RPCSocket.call`) leaves the order
/// at that moment, so the socket goes on while it waits. Answers to the node's calls are taken
/// as they come, never queued behind requests.
///
/// A session lives on its socket's event loop and is touched only there.
public final class RPCSession {
    /// Bounds for one socket.
    public struct Configuration: Sendable {
        /// Requests that may wait or run at once; past it the transport should stop reading.
        public var maxPendingRequests: Int
        /// Calls to the client that may wait for an answer at once; past it a call fails.
        public var maxPendingCalls: Int
        /// Requests the socket may make per second, on average (`nil`: no limit). Bursts of
        /// twice that pass; a request over it is answered with an error (code -32012), and a
        /// socket that goes on past another burst's worth of refusals is reported (`onAbuse`).
        public var requestsPerSecond: Double?

        public init(maxPendingRequests: Int = 512, maxPendingCalls: Int = 64, requestsPerSecond: Double? = nil) {
            self.maxPendingRequests = maxPendingRequests
            self.maxPendingCalls = maxPendingCalls
            self.requestsPerSecond = requestsPerSecond
        }
    }

    private enum SlotState {
        case waiting(RPCIncomingRequest, RPCRouter.Entry)
        case running
        /// Done: the reply to send (`nil`: nothing, for a notification).
        case ready(ByteBuffer?)
        /// Its method called the client: its reply goes out on its own when it comes.
        case detached
    }

    private struct Slot {
        var sequential: Bool
        var state: SlotState
        var batch: BatchReplies?
    }

    /// The replies of one batch, collected in order.
    private final class BatchReplies {
        var replies: [ByteBuffer] = []
        var remaining: Int

        init(remaining: Int) {
            self.remaining = remaining
        }
    }

    private struct PendingCall {
        let method: String
        let promise: EventLoopPromise<JSONValue>
        let timer: Scheduled<Void>
    }

    /// The socket's id, unique in the cluster (`<node-id>.<n>`).
    public let socketName: String
    /// Who is on the connection (changed by `login`, `logout` and refreshed tokens).
    public private(set) var identity: Identity
    /// Who may do what on this node.
    public let access: AccessPolicy
    /// The socket's protocol.
    public let codec: any RPCCodec
    private let router: RPCRouter
    private let manager: any SocketsManager
    private let socketID: SocketID
    private let eventLoop: any EventLoop
    private let logger: Logger
    private let configuration: Configuration
    private let metrics: SwitchboardMetrics
    private let makeBuffer: () -> ByteBuffer
    private let send: (ByteBuffer) -> Void
    private let flush: () -> Void
    private let link: RPCSessionLink

    @exclusivity(unchecked) private var slots = CircularBuffer<Slot>()
    @exclusivity(unchecked) private var firstSequence: UInt64 = 0
    @exclusivity(unchecked) private var started = 0
    @exclusivity(unchecked) private var running = 0
    @exclusivity(unchecked) private var runningSequential = 0
    @exclusivity(unchecked) private var detached = Set<UInt64>()
    @exclusivity(unchecked) private var pumping = false
    @exclusivity(unchecked) private var pumpAgain = false
    @exclusivity(unchecked) private var closed = false

    @exclusivity(unchecked) private var calls: [Int: PendingCall] = [:]
    @exclusivity(unchecked) private var nextSerial: Int
    /// The keepalive call waiting for its answer: its serial and when it was sent.
    private var keepaliveCall: (serial: Int, sent: NIODeadline)?
    /// Since the token expired: when the connection is closed unless a new token comes.
    private var refreshDeadline: NIODeadline?

    /// Called (on the loop) when the session had been full and can take requests again.
    public var onCapacityAvailable: (() -> Void)?
    /// Called (on the loop) with each event the client sends (wsrpc messages without an id).
    public var onEvent: ((JSONValue) -> Void)?
    /// Called (on the loop) when the client abuses the connection (it keeps sending over its
    /// request rate): the transport should close it (1008).
    public var onAbuse: ((String) -> Void)?

    /// The request-rate bucket: tokens left, when it was last filled, refusals since it was last full.
    private var bucket: (tokens: Double, filled: NIODeadline, refusals: Int)

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
        manager: any SocketsManager,
        socketID: SocketID,
        socketName: String? = nil,
        identity: Identity = .anonymous,
        access: AccessPolicy = .open,
        eventLoop: any EventLoop,
        logger: Logger,
        configuration: Configuration = Configuration(),
        metrics: SwitchboardMetrics = SwitchboardMetrics(),
        makeBuffer: @escaping () -> ByteBuffer = { ByteBuffer() },
        send: @escaping (ByteBuffer) -> Void,
        flush: @escaping () -> Void = {}
    ) {
        self.codec = codec
        self.router = router
        self.manager = manager
        self.socketID = socketID
        self.socketName = socketName ?? "\(socketID)"
        self.identity = identity
        self.access = access
        self.eventLoop = eventLoop
        self.logger = logger
        self.configuration = configuration
        self.metrics = metrics
        self.makeBuffer = makeBuffer
        self.send = send
        self.flush = flush
        self.nextSerial = codec.firstCallSerial ?? 0
        self.bucket = (Self.burst(configuration.requestsPerSecond), .now(), 0)
        self.link = RPCSessionLink(eventLoop: eventLoop)
        link.bind(self)
    }

    /// `true` while the session can take more requests.
    public var hasCapacity: Bool { slots.count < configuration.maxPendingRequests }

    /// Number of requests waiting, running, or with a reply not yet sent.
    public var pendingCount: Int { slots.count }

    /// Number of calls to the client waiting for an answer.
    public var pendingCallCount: Int { calls.count }

    /// This socket as its methods see it.
    public var socket: RPCSocket { RPCSocket(id: socketName, protocolName: codec.name, link: link, request: nil) }

    // MARK: - Receiving

    /// Handles one text message.
    public func receive(text: ByteBuffer) {
        eventLoop.preconditionInEventLoop()
        guard !closed else { return }
        switch codec.decode(text) {
        case .single(let message):
            accept(message, batch: nil)
        case .batch(let messages):
            let answered = messages.count { message in
                switch message {
                case .request, .invalid: true
                case .reply, .event, .ignored: false
                }
            }
            let batch = answered > 0 ? BatchReplies(remaining: answered) : nil
            for message in messages { accept(message, batch: batch) }
        }
        pump()
    }

    /// Answers a binary message with an error, in turn.
    public func receiveBinary() {
        guard !closed else { return }
        metrics.rpcError(.binary)
        slots.append(Slot(sequential: false, state: .ready(encodeError(codec.binaryFrameError, for: nil)), batch: nil))
        pump()
    }

    private static func burst(_ rate: Double?) -> Double {
        guard let rate else { return 0 }
        return max(1, rate * 2)
    }

    /// Takes one request's worth from the rate bucket; `false` when it is empty.
    private func takeToken() -> Bool {
        guard let rate = configuration.requestsPerSecond else { return true }
        let now = NIODeadline.now()
        let elapsed = Double((now - bucket.filled).nanoseconds) / 1e9
        bucket.tokens = min(Self.burst(rate), bucket.tokens + elapsed * rate)
        bucket.filled = now
        if bucket.tokens >= 1 {
            // Refusals are forgiven once the client has let the bucket fill up again: one that
            // keeps pressing at the limit is closed even if a request slips through now and then.
            if bucket.tokens >= Self.burst(rate) - 0.5 { bucket.refusals = 0 }
            bucket.tokens -= 1
            return true
        }
        bucket.refusals += 1
        metrics.refusal(.rate)
        if Double(bucket.refusals) > Self.burst(rate) {
            logger.warning("request rate exceeded again and again: closing", metadata: ["limit_per_s": "\(rate)"])
            onAbuse?("request rate exceeded")
        }
        return false
    }

    private func accept(_ message: RPCInboundMessage, batch: BatchReplies?) {
        if case .request(let request) = message, !takeToken() {
            let limit = configuration.requestsPerSecond ?? 0
            let error = RPCError(code: RPCError.Code.rateLimited, message: "Too many requests: at most \(limit) per second on one connection")
            slots.append(Slot(sequential: false, state: .ready(request.isNotification ? nil : encodeError(error, for: request.address)), batch: batch))
            return
        }
        switch message {
        case .request(let request):
            if let entry = router.entry(named: request.method, for: identity) {
                slots.append(Slot(sequential: !entry.method.pipelined, state: .waiting(request, entry), batch: batch))
            } else {
                metrics.rpcError(.unknownMethod)
                let reply = request.isNotification ? nil : encodeError(.unknownMethod(request.method), for: request.address)
                slots.append(Slot(sequential: false, state: .ready(reply), batch: batch))
            }
        case .invalid(let error, let address):
            logger.debug("rejected request", metadata: ["error": "\(error)"])
            metrics.rpcError(Self.kind(ofRejection: error))
            slots.append(Slot(sequential: false, state: .ready(encodeError(error, for: address)), batch: batch))
        case .reply(let serial, let outcome):
            answered(serial: serial, outcome: outcome)
        case .event(let event):
            if let onEvent {
                onEvent(event)
            } else {
                logger.debug("event from the client ignored", metadata: ["event": "\(event)"])
            }
        case .ignored:
            break
        }
    }

    /// Drops every pending request and fails every pending call; late results are ignored.
    public func close() {
        guard !closed else { return }
        closed = true
        link.groups.close()
        slots.removeAll()
        detached.removeAll()
        let pending = calls
        calls.removeAll()
        for call in pending.values {
            call.timer.cancel()
            call.promise.fail(RPCError.connectionClosed)
        }
    }

    // MARK: - Running requests in order

    private func pump() {
        if pumping {
            pumpAgain = true
            return
        }
        pumping = true
        let wasFull = !hasCapacity
        repeat {
            pumpAgain = false
            startRunnable()
            sendReady()
        } while pumpAgain && !closed
        pumping = false
        if wasFull, hasCapacity, !closed { onCapacityAvailable?() }
    }

    private func startRunnable() {
        while started < slots.count, !closed {
            let index = slots.index(slots.startIndex, offsetBy: started)
            guard case .waiting(let request, let entry) = slots[index].state else {
                started += 1
                continue
            }
            let sequential = slots[index].sequential
            if sequential ? running > 0 : runningSequential > 0 { return }
            slots[index].state = .running
            running += 1
            if sequential { runningSequential += 1 }
            let sequence = firstSequence + UInt64(started)
            started += 1
            run(request, entry, sequence: sequence, sequential: sequential)
        }
    }

    private func sendReady() {
        var wrote = false
        loop: while !closed, let first = slots.first {
            switch first.state {
            case .ready(let reply):
                if let batch = first.batch {
                    if let reply { batch.replies.append(reply) }
                    batch.remaining -= 1
                    if batch.remaining == 0, !batch.replies.isEmpty {
                        var buffer = makeBuffer()
                        codec.encodeBatch(batch.replies, into: &buffer)
                        send(buffer)
                        wrote = true
                    }
                } else if let reply {
                    send(reply)
                    wrote = true
                }
            case .detached:
                break
            case .waiting, .running:
                break loop
            }
            // Sending can close the session (a write that fails closes the channel, whose
            // inactivity closes the session and empties `slots`).
            guard !closed else { return }
            slots.removeFirst()
            firstSequence += 1
            started -= 1
        }
        if wrote { flush() }
    }

    private func run(_ request: RPCIncomingRequest, _ entry: RPCRouter.Entry, sequence: UInt64, sequential: Bool) {
        let context = RPCContext(
            socketID: socketID,
            socket: RPCSocket(id: socketName, protocolName: codec.name, link: link, request: sequence),
            manager: manager,
            eventLoop: eventLoop,
            logger: logger,
            address: request.address,
            method: request.method,
            router: router,
            identity: identity,
            access: access
        )
        let startedAt = NIODeadline.now()
        invoke(entry, params: request.params, context: context)
            .hop(to: eventLoop)
            .assumeIsolated()
            .whenComplete { result in
                self.metrics.rpcLatency.recordNanoseconds((NIODeadline.now() - startedAt).nanoseconds)
                self.complete(sequence: sequence, sequential: sequential, result: result, context: context)
            }
    }

    /// Calls the method with its parameters in the form it takes.
    private func invoke(_ entry: RPCRouter.Entry, params: RPCParams, context: RPCContext) -> EventLoopFuture<RawJSON> {
        if let method = entry.takesParams {
            return method.call(params: params, context: context).map { RawJSON($0) }
        }
        if let raw = entry.raw {
            switch params {
            case .object(let text): return raw.callRaw(payload: text, context: context)
            case .none: return raw.callRaw(payload: ByteBuffer(staticString: "{}"), context: context)
            case .array, .value: break
            }
        }
        do {
            let payload = try params.byName(entry.method.parameterNames)
            return entry.method.call(payload: payload, context: context).map { RawJSON($0) }
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
    }

    private func complete(sequence: UInt64, sequential: Bool, result: Result<RawJSON, any Error>, context: RPCContext) {
        guard !closed else { return }
        let reply = encodeReply(result, context: context)
        if !detached.isEmpty, detached.remove(sequence) != nil {
            if let reply {
                send(reply)
                flush()
            }
            return
        }
        running -= 1
        if sequential { runningSequential -= 1 }
        let index = slots.index(slots.startIndex, offsetBy: Int(sequence - firstSequence))
        slots[index].state = .ready(reply)
        pump()
    }

    private func encodeReply(_ result: Result<RawJSON, any Error>, context: RPCContext) -> ByteBuffer? {
        switch result {
        case .success(let response):
            guard context.address.rawID != nil else { return nil }
            var buffer = makeBuffer()
            codec.encodeResult(response, for: context.address, into: &buffer)
            return buffer
        case .failure(let error):
            let rpcError = Self.rpcError(for: error, logger: context.logger)
            metrics.rpcError(Self.kind(of: error))
            guard context.address.rawID != nil else { return nil }
            return encodeError(rpcError, for: context.address)
        }
    }

    /// Takes the request at `sequence` out of the order, if it is running (a method that calls
    /// its client); its reply is then sent as soon as it is ready. Requests of a batch stay.
    private func detach(_ sequence: UInt64) {
        guard sequence >= firstSequence else { return }
        let offset = Int(sequence - firstSequence)
        guard offset < slots.count else { return }
        let index = slots.index(slots.startIndex, offsetBy: offset)
        guard case .running = slots[index].state, slots[index].batch == nil else { return }
        slots[index].state = .detached
        detached.insert(sequence)
        running -= 1
        if slots[index].sequential { runningSequential -= 1 }
        pump()
    }

    private func encodeError(_ error: RPCError, for address: RPCReplyAddress?) -> ByteBuffer {
        var buffer = makeBuffer()
        codec.encodeError(error, for: address, into: &buffer)
        return buffer
    }

    // MARK: - Calls to the client

    /// Calls `method` on the client; `request` is the sequence of the request whose method
    /// calls, which leaves the order. The future fails with an `RPCError` when the client
    /// answers with an error, not within `timeout`, or the connection closes.
    func startCall(_ method: String, params: JSONValue, timeout: TimeAmount, from request: UInt64?) -> EventLoopFuture<JSONValue> {
        eventLoop.preconditionInEventLoop()
        guard !closed else { return eventLoop.makeFailedFuture(RPCError.connectionClosed) }
        guard codec.firstCallSerial != nil else {
            return eventLoop.makeFailedFuture(RPCError(code: RPCError.Code.clientCannotBeCalled, message: "the \(codec.name) protocol has no calls to the client"))
        }
        guard calls.count < configuration.maxPendingCalls else {
            return eventLoop.makeFailedFuture(RPCError(
                code: RPCError.Code.tooManyClientCalls,
                message: "too many calls to the client in flight (at most \(configuration.maxPendingCalls) per socket)"
            ))
        }
        let serial = nextSerial
        nextSerial += codec.callSerialStep
        let promise = eventLoop.makePromise(of: JSONValue.self)
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        let timer = eventLoop.scheduleTask(in: timeout) { bound.value.callTimedOut(serial: serial, after: timeout) }
        calls[serial] = PendingCall(method: method, promise: promise, timer: timer)
        var buffer = makeBuffer()
        codec.encodeCall(serial: serial, method: method, params: params, into: &buffer)
        send(buffer)
        flush()
        if let request { detach(request) }
        return promise.futureResult
    }

    private func callTimedOut(serial: Int, after timeout: TimeAmount) {
        guard let call = calls.removeValue(forKey: serial) else { return }
        logger.info("the client did not answer a call in time", metadata: ["method": "\(call.method)", "serial": "\(serial)"])
        call.promise.fail(RPCError(
            code: RPCError.Code.clientTimeout,
            message: "the client did not answer \(call.method) within \(Double(timeout.nanoseconds) / 1e9) s"
        ))
    }

    /// One keepalive pass of a protocol whose keepalive is a call (wsrpc's `ping {"seq": <time>}`):
    /// calls `method` unless the previous keepalive call is still waiting. Returns `false` when
    /// that call has waited `timeout` or longer (the transport then drops the connection), so a
    /// client always has at least `timeout` to answer. No timer: the passes are the clock.
    public func keepalive(method: String, timeout: TimeAmount, now: NIODeadline = .now()) -> Bool {
        eventLoop.preconditionInEventLoop()
        guard !closed, codec.firstCallSerial != nil else { return true }
        if let waiting = keepaliveCall { return now - waiting.sent < timeout }
        let serial = nextSerial
        nextSerial += codec.callSerialStep
        keepaliveCall = (serial, now)
        var buffer = makeBuffer()
        let seconds = Double(now.uptimeNanoseconds) / 1e9
        codec.encodeCall(serial: serial, method: method, params: ["seq": .number(JSONNumber(seconds))], into: &buffer)
        send(buffer)
        flush()
        return true
    }

    private func answered(serial: Int, outcome: Result<JSONValue, RPCError>) {
        if serial == keepaliveCall?.serial {
            keepaliveCall = nil
            if case .failure(let error) = outcome { logger.debug("the client answered the keepalive with an error", metadata: ["error": "\(error)"]) }
            return
        }
        guard let call = calls.removeValue(forKey: serial) else {
            logger.debug("answer to no pending call ignored", metadata: ["serial": "\(serial)"])
            return
        }
        call.timer.cancel()
        switch outcome {
        case .success(let value): call.promise.succeed(value)
        case .failure(let error): call.promise.fail(error)
        }
    }

    // MARK: - Identity

    /// Sets who is on the connection (a `login`, a `logout`, a refreshed token), and leaves the
    /// channels the new identity may not hold. Returns the channels left.
    @discardableResult
    func setIdentity(_ identity: Identity) -> [String] {
        eventLoop.preconditionInEventLoop()
        self.identity = identity
        refreshDeadline = nil
        var left: [String] = []
        var released: [String] = []
        for member in manager.channels.subscriptions(of: socketID) where !access.allows(identity, .subscribe, member.key) {
            let channel = member.key
            for pattern in (member.value.arrayValue ?? []).compactMap(\.stringValue) {
                if case .left(_, release: true) = manager.channels.leave(socketID, channel: channel, pattern: pattern) {
                    released.append(channel)
                }
            }
            left.append(channel)
        }
        if !released.isEmpty {
            // Channels left empty are released at the broker, as when a socket closes.
            let manager = self.manager
            Task {
                for channel in released { await manager.unsubscribe(channel: channel) }
            }
        }
        return left
    }

    /// One expiry pass (the transport runs it with the keepalive passes): once the token has
    /// expired the client is asked for a new one — a `refresh` call it may answer with a token
    /// (JSON-RPC, wsrpc), or a `refresh` event after which it calls `login` (`/stream`) — and
    /// given `grace`. Returns `false` when the grace has passed without a new token: the
    /// transport closes the connection with 4001 "token expired".
    public func expiryPass(now: NIODeadline = .now(), wallClock: Double, grace: TimeAmount) -> Bool {
        eventLoop.preconditionInEventLoop()
        guard !closed, identity.isExpired(now: wallClock) else {
            refreshDeadline = nil
            return true
        }
        if let deadline = refreshDeadline { return now < deadline }
        refreshDeadline = now + grace
        logger.info("token expired: asking the client for a new one", metadata: ["user": "\(identity.userID ?? "?")"])
        if codec.firstCallSerial != nil {
            let bound = NIOLoopBound(self, eventLoop: eventLoop)
            let verifier = access.verifier
            startCall("refresh", params: ["expired_at": .number(JSONNumber(identity.expiresAt ?? wallClock))], timeout: grace, from: nil)
                .whenSuccess { answer in
                    guard let token = answer.stringValue ?? answer["token"]?.stringValue, let verifier else { return }
                    Task {
                        guard let identity = try? await verifier.identity(for: token) else { return }
                        bound.value.eventLoop.execute { bound.value.setIdentity(identity) }
                    }
                }
        } else {
            sendNotification(method: "refresh", params: ["expired_at": .number(JSONNumber(identity.expiresAt ?? wallClock))])
        }
        return true
    }

    // MARK: - Messages outside replies

    /// Sends a notification (see `RPCSocket.notify`).
    func sendNotification(method: String, params: JSONValue) {
        guard !closed else { return }
        var buffer = makeBuffer()
        codec.encodeNotification(method: method, params: params, into: &buffer)
        send(buffer)
        flush()
    }

    /// Sends an event object (see `RPCSocket.emit`).
    func sendEvent(_ event: JSONObject) {
        guard !closed else { return }
        var buffer = makeBuffer()
        codec.encodeEvent(event, into: &buffer)
        send(buffer)
        flush()
    }

    /// Sends one channel message in the protocol's format.
    func sendChannelMessage(channel: String, event: String?, rawData: ByteBuffer) {
        guard !closed else { return }
        var buffer = makeBuffer()
        ChannelMessageText.write(format: codec.messageFormat, channel: channel, event: event, rawData: rawData, into: &buffer)
        send(buffer)
        flush()
    }

    // MARK: - Errors

    private static func kind(ofRejection error: RPCError) -> SwitchboardMetrics.RPCErrorKind {
        switch error.code {
        case RPCError.Code.parseError: .notJSON
        case RPCError.Code.invalidRequest: .malformed
        case RPCError.Code.methodNotFound: .unknownMethod
        default: .validation
        }
    }

    private static func kind(of error: any Error) -> SwitchboardMetrics.RPCErrorKind {
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
