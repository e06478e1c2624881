import CoreMetrics
public import NIOCore
import Synchronization

/// The in-process broker: channels are shared by the sockets of this node only. It is the
/// default when no Redis URL is configured, and what unit tests use. It keeps history, state and
/// presence in memory.
///
/// Like aio-openapi's test broker it can simulate network latency (messages are delivered that
/// long after the publish, in publish order) and refuse channels by a rule.
public final class LocalBroker: NodeBackend {
    /// Options for tests and demos.
    public struct Configuration: Sendable {
        /// Delay between a publish and its delivery; `nil` delivers at once.
        public var latency: TimeAmount?
        /// Extra rule a channel name must pass (after `ChannelName.isValid`).
        public var channelRule: (@Sendable (String) -> Bool)?
        /// This node's id (its sockets are `<nodeID>.<n>`).
        public var nodeID: String

        public init(latency: TimeAmount? = nil, channelRule: (@Sendable (String) -> Bool)? = nil, nodeID: String = NodeIdentity.random()) {
            self.latency = latency
            self.channelRule = channelRule
            self.nodeID = nodeID
        }

        /// aio-openapi's test broker rule: only lower-case channel names.
        public static let lowercaseOnly: @Sendable (String) -> Bool = { $0.lowercased() == $0 }
    }

    private struct Pending {
        let deadline: NIODeadline
        let channel: String
        let event: String?
        let data: ByteBuffer
        let position: StreamPosition?
    }

    private struct DelayState {
        var queue = CircularBuffer<Pending>()
        var scheduled = false
    }

    public let metrics: SwitchboardMetrics
    public let name = "local"
    public var nodeID: String { configuration.nodeID }
    public var isReady: Bool { !closed.withLock { $0 } }

    private let configuration: Configuration
    private let delayLoop: any EventLoop
    private let delegate = Mutex<(any BrokerDelegate)?>(nil)
    private let delayed = Mutex(DelayState())
    /// Channel states, each with when it expires.
    private let states = Mutex<[String: (state: ChannelState, expires: NIODeadline)]>([:])
    private let histories = Mutex<[String: LocalHistory]>([:])
    private let presenceEntries = Mutex<[String: [String: PresenceEntry]]>([:])
    private let closed = Mutex(false)

    /// Creates the broker. `eventLoop` runs the latency timer when `latency` is set.
    public init(
        configuration: Configuration = Configuration(),
        metrics: SwitchboardMetrics = SwitchboardMetrics(),
        eventLoop: any EventLoop
    ) {
        self.configuration = configuration
        self.metrics = metrics
        self.delayLoop = eventLoop
    }

    public func bind(_ delegate: any BrokerDelegate) {
        self.delegate.withLock { $0 = delegate }
    }

    private func accepts(_ channel: String) -> Bool {
        ChannelName.isValid(channel) && (configuration.channelRule?(channel) ?? true)
    }

    public func publish(channel: String, event: String?, rawData: RawJSON, options: PublishOptions, on eventLoop: any EventLoop) -> EventLoopFuture<StreamPosition?> {
        eventLoop.makeCompletedFuture(publishNow(channel: channel, event: event, rawData: rawData, options: options).mapError { $0 })
    }

    public func publish(
        channel: String, event: String?, rawData: RawJSON, options: PublishOptions, on eventLoop: any EventLoop,
        completion: @escaping @Sendable (Result<StreamPosition?, any Error>) -> Void
    ) {
        let result = publishNow(channel: channel, event: event, rawData: rawData, options: options).mapError { $0 as any Error }
        if eventLoop.inEventLoop {
            completion(result)
        } else {
            eventLoop.execute { completion(result) }
        }
    }

    /// Publishes at once: hands the message to the subscribers (and the history, the state).
    private func publishNow(channel: String, event: String?, rawData: RawJSON, options: PublishOptions) -> Result<StreamPosition?, BrokerError> {
        guard accepts(channel), isReady else {
            return .failure(.cannotPublish)
        }
        if let ttl = options.stateTTL {
            let now = NIODeadline.now()
            states.withLock { states in
                states[channel] = (ChannelState(event: event, rawData: rawData.bytes), now + .seconds(Int64(ttl)))
                // Expired states go as new ones come, so the table holds at most the live ones.
                if states.count > 1024 { states = states.filter { $0.value.expires > now } }
            }
        }
        guard let history = options.history else {
            dispatch(channel: channel, event: event, raw: rawData.bytes, position: nil)
            return .success(nil)
        }
        // Offsets are given and messages handed over in one critical section: sockets see a
        // channel's messages in offset order.
        let position = histories.withLock { histories in
            let now = NIODeadline.now()
            var log = histories[channel].flatMap { $0.expires > now ? $0 : nil } ?? LocalHistory(expires: now)
            let position = log.append(event: event, rawData: rawData.bytes, size: history.size, expires: now + .seconds(Int64(history.ttl)))
            histories[channel] = log
            dispatch(channel: channel, event: event, raw: rawData.bytes, position: position)
            return position
        }
        return .success(position)
    }

    private func dispatch(channel: String, event: String?, raw: ByteBuffer, position: StreamPosition?) {
        metrics.messagesPublished.increment()
        if let latency = configuration.latency {
            enqueue(Pending(deadline: .now() + latency, channel: channel, event: event, data: raw, position: position))
        } else if let delegate = delegate.withLock({ $0 }) {
            metrics.messagesReceived.increment()
            var batch = DeliveryBatch()
            let delivered = delegate.deliver(channel: channel, event: event, rawData: raw, position: position, into: &batch)
            batch.dispatch()
            metrics.messagesDelivered.increment(by: Int64(delivered))
        }
    }

    public func history(channel: String, query: HistoryQuery) async throws -> HistoryPage {
        guard isReady else { throw BrokerError.cannotSubscribe }
        let now = NIODeadline.now()
        return histories.withLock { histories in
            guard let log = histories[channel], log.expires > now else {
                histories[channel] = nil
                return HistoryPage(messages: [], epoch: nil, latest: nil)
            }
            return log.read(query)
        }
    }

    public func presenceAdd(channel: String, entries: [PresenceEntry]) async throws {
        guard isReady else { throw BrokerError.cannotSubscribe }
        presenceEntries.withLock { all in
            for entry in entries { all[channel, default: [:]][entry.socket] = entry }
        }
    }

    public func presenceRemove(channel: String, sockets: [String]) async {
        presenceEntries.withLock { all in
            for socket in sockets { all[channel]?[socket] = nil }
            if all[channel]?.isEmpty == true { all[channel] = nil }
        }
    }

    public func presenceList(channel: String) async throws -> [PresenceEntry] {
        guard isReady else { throw BrokerError.cannotSubscribe }
        return presenceEntries.withLock { all in (all[channel] ?? [:]).values.sorted { $0.socket < $1.socket } }
    }

    public func state(of channel: String) async throws -> ChannelState? {
        let now = NIODeadline.now()
        return states.withLock { states in
            guard let entry = states[channel] else { return nil }
            guard entry.expires > now else {
                states[channel] = nil
                return nil
            }
            return entry.state
        }
    }

    public func subscribe(channel: String) async throws {
        guard accepts(channel), isReady else { throw BrokerError.cannotSubscribe }
    }

    /// Only this node exists: a message to it reaches its own inbox, to any other node nobody.
    public func send(toNode nodeID: String, message: ByteBuffer) async throws -> Int {
        guard nodeID == self.nodeID, isReady, let delegate = delegate.withLock({ $0 }) else { return 0 }
        delegate.receivedNodeMessage(message)
        return 1
    }

    public func unsubscribe(channel: String) async {}

    public var info: JSONObject {
        ["latency_ms": configuration.latency.map { .number(JSONNumber(Double($0.nanoseconds) / 1e6)) } ?? .null]
    }

    public func run() async {}

    public func close() async {
        closed.withLock { $0 = true }
        delegate.withLock { $0 = nil }
    }

    // MARK: - Simulated latency: one FIFO, one timer

    private func enqueue(_ pending: Pending) {
        let schedule = delayed.withLock { state -> Bool in
            state.queue.append(pending)
            guard !state.scheduled else { return false }
            state.scheduled = true
            return true
        }
        if schedule {
            delayLoop.scheduleTask(deadline: pending.deadline) { self.drainDue() }
        }
    }

    private func drainDue() {
        let now = NIODeadline.now()
        let (due, next) = delayed.withLock { state -> ([Pending], NIODeadline?) in
            var due: [Pending] = []
            while let first = state.queue.first, first.deadline <= now {
                due.append(state.queue.removeFirst())
            }
            let next = state.queue.first?.deadline
            state.scheduled = next != nil
            return (due, next)
        }
        var batch = DeliveryBatch()
        var delivered = 0
        if let delegate = delegate.withLock({ $0 }) {
            for message in due {
                delivered += delegate.deliver(channel: message.channel, event: message.event, rawData: message.data, position: message.position, into: &batch)
            }
        }
        metrics.messagesReceived.increment(by: Int64(due.count))
        metrics.messagesDelivered.increment(by: Int64(delivered))
        batch.dispatch()
        if let next {
            delayLoop.scheduleTask(deadline: next) { self.drainDue() }
        }
    }
}
