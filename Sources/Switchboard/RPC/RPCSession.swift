import CoreMetrics
public import Logging
public import NIOCore

/// The RPC side of one socket: decodes each incoming text message, runs its method, and sends
/// the replies in the order the requests came.
///
/// Requests run one after another, except that a run of pipelined methods (`publish`) may be
/// in flight together, since the broker keeps their order. Bad requests are answered in their
/// turn too. A session lives on its socket's event loop and is touched only there.
public final class RPCSession {
    /// Bounds for one socket.
    public struct Configuration: Sendable {
        /// Requests that may wait or run at once; past it the transport should stop reading.
        public var maxPendingRequests: Int

        public init(maxPendingRequests: Int = 512) {
            self.maxPendingRequests = maxPendingRequests
        }
    }

    private enum SlotState {
        case waiting(RPCEnvelope, any RPCMethod)
        case running
        case ready(ByteBuffer)
    }

    private struct Slot {
        var sequential: Bool
        var state: SlotState
    }

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

    private var slots = CircularBuffer<Slot>()
    private var firstSequence: UInt64 = 0
    private var started = 0
    private var running = 0
    private var runningSequential = 0
    private var pumping = false
    private var pumpAgain = false
    private var closed = false

    /// Called (on the loop) when the session had been full and can take requests again.
    public var onCapacityAvailable: (() -> Void)?

    /// Creates a session.
    /// - Parameters:
    ///   - makeBuffer: returns an empty buffer to write a reply into (the transport may leave
    ///     headroom for its frame header).
    ///   - send: writes one reply (without flushing).
    ///   - flush: flushes what `send` wrote.
    public init(
        router: RPCRouter,
        manager: any SocketsManager,
        socketID: SocketID,
        eventLoop: any EventLoop,
        logger: Logger,
        configuration: Configuration = Configuration(),
        metrics: SwitchboardMetrics = SwitchboardMetrics(),
        makeBuffer: @escaping () -> ByteBuffer = { ByteBuffer() },
        send: @escaping (ByteBuffer) -> Void,
        flush: @escaping () -> Void = {}
    ) {
        self.router = router
        self.manager = manager
        self.socketID = socketID
        self.eventLoop = eventLoop
        self.logger = logger
        self.configuration = configuration
        self.metrics = metrics
        self.makeBuffer = makeBuffer
        self.send = send
        self.flush = flush
    }

    /// `true` while the session can take more requests.
    public var hasCapacity: Bool { slots.count < configuration.maxPendingRequests }

    /// Number of requests waiting, running, or with a reply not yet sent.
    public var pendingCount: Int { slots.count }

    /// Handles one text message.
    public func receive(text: ByteBuffer) {
        eventLoop.preconditionInEventLoop()
        guard !closed else { return }
        switch RPCEnvelope.decode(text) {
        case .failure(let rejection):
            logger.debug("rejected request", metadata: ["error": "\(rejection.error)"])
            metrics.rpcError(rejection.error == .notJSON ? .notJSON : (rejection.error.errors == nil ? .malformed : .validation))
            append(Slot(sequential: false, state: .ready(encodeFailure(rejection.error, rawID: rejection.id?.jsonBytes, method: rejection.method))))
        case .success(let request):
            if let method = router.method(named: request.method) {
                append(Slot(sequential: !method.pipelined, state: .waiting(request, method)))
            } else {
                metrics.rpcError(.unknownMethod)
                let reply = encodeFailure(.unknownMethod(request.method), rawID: request.rawID, method: request.method)
                append(Slot(sequential: false, state: .ready(reply)))
            }
        }
    }

    /// Answers a binary message with an error, in turn.
    public func receiveBinary() {
        guard !closed else { return }
        metrics.rpcError(.binary)
        append(Slot(sequential: false, state: .ready(encodeFailure(.binaryNotSupported, rawID: nil, method: nil))))
    }

    /// Drops every pending request; late results are ignored.
    public func close() {
        closed = true
        slots.removeAll()
    }

    private func append(_ slot: Slot) {
        slots.append(slot)
        pump()
    }

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
            guard case .waiting(let request, let method) = slots[index].state else {
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
            run(request, method, sequence: sequence, sequential: sequential)
        }
    }

    private func sendReady() {
        var wrote = false
        while let first = slots.first, case .ready(let reply) = first.state {
            slots.removeFirst()
            firstSequence += 1
            started -= 1
            send(reply)
            wrote = true
        }
        if wrote { flush() }
    }

    private func run(_ request: RPCEnvelope, _ method: any RPCMethod, sequence: UInt64, sequential: Bool) {
        let context = RPCContext(
            socketID: socketID,
            manager: manager,
            eventLoop: eventLoop,
            logger: logger,
            rawRequestID: request.rawID,
            method: request.method
        )
        let startedAt = NIODeadline.now()
        let response: EventLoopFuture<RawJSON>
        if let raw = method as? any RawRPCMethod {
            response = raw.callRaw(payload: request.payload ?? ByteBuffer(staticString: "{}"), context: context)
        } else {
            response = method.call(payload: request.payloadObject, context: context).map { RawJSON($0) }
        }
        response
            .hop(to: eventLoop)
            .assumeIsolated()
            .whenComplete { result in
                self.metrics.rpcLatency.recordNanoseconds((NIODeadline.now() - startedAt).nanoseconds)
                self.complete(sequence: sequence, sequential: sequential, result: result, context: context)
            }
    }

    private func complete(sequence: UInt64, sequential: Bool, result: Result<RawJSON, any Error>, context: RPCContext) {
        guard !closed else { return }
        running -= 1
        if sequential { runningSequential -= 1 }
        var buffer = makeBuffer()
        switch result {
        case .success(let response):
            RPCReply.success(rawID: context.rawRequestID, method: context.method, response: response, into: &buffer)
        case .failure(let error):
            let rpcError = Self.rpcError(for: error, logger: context.logger)
            metrics.rpcError(Self.kind(of: error))
            RPCReply.failure(rpcError, rawID: context.rawRequestID, method: context.method, into: &buffer)
        }
        let index = slots.index(slots.startIndex, offsetBy: Int(sequence - firstSequence))
        slots[index].state = .ready(buffer)
        pump()
    }

    private func encodeFailure(_ error: RPCError, rawID: ByteBuffer?, method: String?) -> ByteBuffer {
        var buffer = makeBuffer()
        RPCReply.failure(error, rawID: rawID, method: method, into: &buffer)
        return buffer
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
