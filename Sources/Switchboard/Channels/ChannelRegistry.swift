public import NIOCore
import Synchronization

/// Channel → event pattern → sockets, for one node: who gets which message.
///
/// A message's event is matched against each pattern of its channel once, the recipients are
/// grouped by event loop (cached between changes), the message is encoded once, and each loop
/// gets one task that hands the same buffer to each of its sockets. A socket with several
/// matching patterns gets one copy. The registry also holds, per channel, the node's broker
/// subscription (`ChannelSubscription`): the one record of it, which orders this node's
/// subscribes and unsubscribes of the channel, so the broker is asked once per channel and node
/// and a join never races a release.
public final class ChannelRegistry: Sendable {
    /// Bounds on what one socket may hold.
    public struct Limits: Sendable {
        /// Most (channel, pattern) pairs one socket may hold.
        public var maxSubscriptionsPerSocket: Int

        public init(maxSubscriptionsPerSocket: Int = 1024) {
            self.maxSubscriptionsPerSocket = maxSubscriptionsPerSocket
        }
    }

    /// What a socket must do to join a channel.
    public enum JoinStep: Sendable, Equatable {
        /// The node already holds the channel at the broker.
        case ready
        /// This caller must subscribe the node at the broker, then call `brokerSubscribed`.
        case subscribe
        /// Another socket is subscribing the node: wait with `waitForBroker`.
        case wait
        /// The socket may not take another subscription.
        case tooManySubscriptions
    }

    /// How a join ended.
    public enum JoinOutcome: Sendable, Equatable {
        /// Subscribed: every channel and pattern the socket now holds.
        case subscribed(JSONObject)
        /// The socket went away meanwhile; `release` says the channel is now empty.
        case socketGone(release: Bool)
        /// The socket may not take another subscription; `release` as above.
        case tooManySubscriptions(release: Bool)
    }

    /// How a leave ended.
    public enum LeaveOutcome: Sendable, Equatable {
        /// The node holds no subscription to this channel.
        case notHeld
        /// Done: the socket's remaining subscriptions, and whether the channel is now empty.
        case left(JSONObject, release: Bool)
    }

    struct LoopGroup {
        let loop: any EventLoop
        var sockets: [any SocketHandle]
    }

    /// Which frames a message needs: the formats its recipients speak, plain or compressed.
    struct FrameNeeds {
        var stream = false
        var streamDeflated = false
        var jsonRPC = false
        var jsonRPCDeflated = false

        mutating func add(_ socket: any SocketHandle) {
            switch socket.messageFormat {
            case .stream:
                stream = true
                streamDeflated = streamDeflated || socket.acceptsDeflatedFrames
            case .jsonRPC:
                jsonRPC = true
                jsonRPCDeflated = jsonRPCDeflated || socket.acceptsDeflatedFrames
            }
        }
    }

    /// The sockets a message goes to, grouped by event loop, and the frames they need.
    struct Recipients {
        var groups: [LoopGroup]
        var needs: FrameNeeds
    }

    struct PatternEntry {
        let pattern: GlobPattern
        var sockets: [SocketID: any SocketHandle] = [:]
        var recipients: Recipients? = nil
    }

    struct ChannelEntry {
        var patterns: [PatternEntry] = []
        var subscription = ChannelSubscription<CheckedContinuation<Void, any Error>>()
        var joining = 0
        var allRecipients: Recipients? = nil
        /// The patterns, for matching outside the lock; empty when every pattern is `*`.
        var globs: [GlobPattern] = []
        /// Changes with every change of the patterns or their sockets.
        var version: UInt64 = 0
        /// The last event matched and the patterns it matched (events often repeat).
        var lastMatch: (event: String, matched: [Int])? = nil

        var isEmpty: Bool { patterns.isEmpty && joining == 0 }

        mutating func invalidate() {
            allRecipients = nil
            version &+= 1
            lastMatch = nil
            globs = patterns.contains { !$0.pattern.matchesEverything } ? patterns.map(\.pattern) : []
        }
    }

    /// What the first look at a channel found: recipients, or patterns to match outside the lock.
    enum Lookup {
        case none
        case found(Recipients, any OutboundMessageEncoder)
        case match([GlobPattern], version: UInt64)
    }

    struct SocketEntry {
        let handle: any SocketHandle
        var channelOrder: [String] = []
        var patterns: [String: [String]] = [:]
        var count = 0
    }

    struct State {
        var channels: [String: ChannelEntry] = [:]
        /// The recipients of the channels whose patterns are all `*` (the same for every event):
        /// the delivery path's first look, which copies one small value, not a channel's entry.
        /// A channel's is dropped whenever its patterns or sockets change (`completeJoin`,
        /// `store`).
        var everyEvent: [String: Recipients] = [:]
        var sockets: [SocketID: SocketEntry] = [:]
        var encoder: any OutboundMessageEncoder
    }

    let state: Mutex<State>
    /// Per-socket bounds.
    public let limits: Limits

    /// Creates a registry; the transport sets its encoder with `use(encoder:)` (the default sends
    /// the JSON text as it is).
    public init(limits: Limits = Limits()) {
        self.state = Mutex(State(encoder: PlainTextEncoder()))
        self.limits = limits
    }

    /// Sets how messages are encoded for sockets (the WebSocket transport sets its frame encoder).
    public func use(encoder: any OutboundMessageEncoder) {
        state.withLock { $0.encoder = encoder }
    }

    /// A message for one socket, encoded as the transport encodes shared messages (for the
    /// messages a recovering socket missed). It is never held back: it carries no history mark.
    public func message(for socket: any SocketHandle, channel: String, event: String?, rawData: ByteBuffer, position: StreamPosition?) -> OutboundMessage {
        let encoder = state.withLock { $0.encoder }
        let json = ChannelMessageText.make(format: socket.messageFormat, channel: channel, event: event, rawData: rawData, position: position)
        let frames = encoder.encode(json: json, deflate: socket.acceptsDeflatedFrames)
        return socket.messageFormat == .stream ? OutboundMessage(stream: frames) : OutboundMessage(stream: nil, jsonRPC: frames)
    }

    let featureTable = Mutex(ChannelFeatureTable())

    /// Sets the channels' options (history, presence), from the configuration's rules.
    public func use(features: ChannelFeatureTable) {
        featureTable.withLock { $0 = features }
    }

    /// The options of `channel`: `.plain` unless a configuration rule gives it history or
    /// presence.
    public func features(for channel: String) -> ChannelFeatures {
        featureTable.withLock { $0.features(for: channel) }
    }

    // MARK: - Sockets

    /// Makes a socket known; it can then join channels.
    public func attach(_ socket: any SocketHandle) {
        state.withLock { $0.sockets[socket.id] = SocketEntry(handle: socket) }
    }

    /// Removes a socket from every channel at once; returns the channels left empty, which the
    /// caller releases at the broker (each then reports `brokerUnsubscribed`).
    @discardableResult
    public func detach(_ id: SocketID) -> [String] {
        state.withLock { state in
            guard let entry = state.sockets.removeValue(forKey: id) else { return [] }
            var released: [String] = []
            for channel in entry.channelOrder {
                guard var channelEntry = state.channels[channel] else { continue }
                for pattern in entry.patterns[channel] ?? [] {
                    Self.removeSocket(id, pattern: pattern, from: &channelEntry)
                }
                if Self.store(channelEntry, channel, in: &state) { released.append(channel) }
            }
            return released
        }
    }

    // MARK: - Joining and leaving

    /// First step of a subscribe: registers the intent so the channel is not released meanwhile.
    /// Every call that does not return `.tooManySubscriptions` must be followed by
    /// `completeJoin` or `abandonJoin`.
    public func beginJoin(_ id: SocketID, channel: String, pattern: String) -> JoinStep {
        state.withLock { state in
            if let socket = state.sockets[id], socket.count >= limits.maxSubscriptionsPerSocket,
                !(socket.patterns[channel]?.contains(pattern) ?? false)
            {
                return .tooManySubscriptions
            }
            var entry = state.channels[channel] ?? ChannelEntry()
            entry.joining += 1
            let step: JoinStep
            switch entry.subscription.join() {
            case .ready: step = .ready
            case .wait: step = .wait
            case .subscribe: step = .subscribe
            }
            state.channels[channel] = entry
            return step
        }
    }

    /// Waits until the node's broker subscription that another caller is making (or remaking,
    /// after an unsubscribe in flight) is active.
    public func waitForBroker(channel: String) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let resumeNow: Result<Void, any Error>? = state.withLock { state in
                guard var entry = state.channels[channel] else { return .failure(BrokerError.cannotSubscribe) }
                switch entry.subscription.addWaiter(continuation) {
                case true?: return .success(())
                case false?: return .failure(BrokerError.cannotSubscribe)
                case nil:
                    state.channels[channel] = entry
                    return nil
                }
            }
            if let resumeNow { continuation.resume(with: resumeNow) }
        }
    }

    /// The node's broker subscription to `channel` is active.
    public func brokerSubscribed(channel: String) {
        let waiters: [CheckedContinuation<Void, any Error>] = state.withLock { state in
            guard var entry = state.channels[channel] else { return [] }
            let waiters = entry.subscription.subscribed()
            state.channels[channel] = entry
            return waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// The broker refused or failed the subscription; everyone waiting gets `error`.
    public func brokerFailed(channel: String, error: any Error) {
        let waiters: [CheckedContinuation<Void, any Error>] = state.withLock { state in
            guard var entry = state.channels[channel] else { return [] }
            let waiters = entry.subscription.subscribeFailed()
            _ = Self.store(entry, channel, in: &state)
            return waiters
        }
        for waiter in waiters { waiter.resume(throwing: error) }
    }

    /// The node's broker unsubscribe of `channel` (after a release) is done. Returns
    /// `.subscribe` when sockets joined meanwhile: the caller subscribes again and reports it
    /// (`brokerSubscribed` or `brokerFailed`), and the joins waiting get its outcome.
    public func brokerUnsubscribed(channel: String) -> ChannelSubscription<CheckedContinuation<Void, any Error>>.AfterUnsubscribe {
        state.withLock { state in
            guard var entry = state.channels[channel] else { return .done }
            let next = entry.subscription.unsubscribed(wanted: !entry.isEmpty)
            _ = Self.store(entry, channel, in: &state)
            return next
        }
    }

    /// Last step of a successful subscribe: adds the socket's pattern.
    public func completeJoin(_ id: SocketID, channel: String, pattern: String) -> JoinOutcome {
        state.withLock { state in
            guard var entry = state.channels[channel] else { return .socketGone(release: false) }
            entry.joining -= 1
            guard var socket = state.sockets[id] else {
                return .socketGone(release: Self.store(entry, channel, in: &state))
            }
            var held = socket.patterns[channel] ?? []
            if !held.contains(pattern) {
                guard socket.count < limits.maxSubscriptionsPerSocket else {
                    return .tooManySubscriptions(release: Self.store(entry, channel, in: &state))
                }
                if held.isEmpty { socket.channelOrder.append(channel) }
                held.append(pattern)
                socket.patterns[channel] = held
                socket.count += 1
                if let index = entry.patterns.firstIndex(where: { $0.pattern.source == pattern }) {
                    entry.patterns[index].sockets[id] = socket.handle
                    entry.patterns[index].recipients = nil
                } else {
                    var patternEntry = PatternEntry(pattern: GlobPattern(pattern))
                    patternEntry.sockets[id] = socket.handle
                    entry.patterns.append(patternEntry)
                }
                entry.invalidate()
                state.everyEvent[channel] = nil
                state.sockets[id] = socket
            }
            state.channels[channel] = entry
            return .subscribed(Self.subscriptions(of: socket))
        }
    }

    /// A subscribe that did not complete (the broker refused it): drops the intent. Returns
    /// `true` if the channel is now empty and held at the broker, so the caller releases it.
    public func abandonJoin(channel: String) -> Bool {
        state.withLock { state in
            guard var entry = state.channels[channel] else { return false }
            entry.joining -= 1
            return Self.store(entry, channel, in: &state)
        }
    }

    /// Removes one pattern of a socket from a channel.
    public func leave(_ id: SocketID, channel: String, pattern: String) -> LeaveOutcome {
        state.withLock { state in
            guard var entry = state.channels[channel], !entry.patterns.isEmpty else { return .notHeld }
            guard var socket = state.sockets[id] else { return .notHeld }
            if var held = socket.patterns[channel], let index = held.firstIndex(of: pattern) {
                held.remove(at: index)
                socket.count -= 1
                if held.isEmpty {
                    socket.patterns[channel] = nil
                    socket.channelOrder.removeAll { $0 == channel }
                } else {
                    socket.patterns[channel] = held
                }
                state.sockets[id] = socket
                Self.removeSocket(id, pattern: pattern, from: &entry)
            }
            let release = Self.store(entry, channel, in: &state)
            return .left(Self.subscriptions(of: socket), release: release)
        }
    }

    /// Stores `entry`; an empty one is removed when the node holds nothing of the channel at the
    /// broker, or starts its release when it does. `true` when the caller must release the
    /// channel at the broker (then report `brokerUnsubscribed`).
    static func store(_ entry: ChannelEntry, _ channel: String, in state: inout State) -> Bool {
        state.everyEvent[channel] = nil
        var entry = entry
        if entry.isEmpty {
            if entry.subscription.isIdle {
                state.channels[channel] = nil
                return false
            }
            let release = entry.subscription.release()
            state.channels[channel] = entry
            return release
        }
        state.channels[channel] = entry
        return false
    }

    static func removeSocket(_ id: SocketID, pattern: String, from entry: inout ChannelEntry) {
        guard let index = entry.patterns.firstIndex(where: { $0.pattern.source == pattern }) else { return }
        entry.patterns[index].sockets[id] = nil
        entry.patterns[index].recipients = nil
        if entry.patterns[index].sockets.isEmpty {
            entry.patterns.remove(at: index)
        }
        entry.invalidate()
    }

    static func subscriptions(of socket: SocketEntry) -> JSONObject {
        var object = JSONObject()
        for channel in socket.channelOrder {
            object.append(channel, .array((socket.patterns[channel] ?? []).map { .string($0) }))
        }
        return object
    }

    // MARK: - Queries

    /// Every channel and pattern `id` holds: `{channel: [pattern, ...]}`.
    public func subscriptions(of id: SocketID) -> JSONObject {
        state.withLock { state in
            state.sockets[id].map(Self.subscriptions(of:)) ?? JSONObject()
        }
    }

    /// `{channel: {pattern: sockets}}` for every channel with subscribers on this node.
    public func info(only names: Set<String>? = nil) -> JSONObject {
        state.withLock { state in
            var object = JSONObject()
            for name in (names.map(Array.init) ?? Array(state.channels.keys)).sorted() {
                guard let entry = state.channels[name], !entry.patterns.isEmpty else { continue }
                var patterns = JSONObject()
                for pattern in entry.patterns {
                    patterns.append(pattern.pattern.source, .number(JSONNumber(pattern.sockets.count)))
                }
                object.append(name, .object(patterns))
            }
            return object
        }
    }

    /// `true` when socket `id` holds some pattern on `channel`.
    public func holds(_ id: SocketID, channel: String) -> Bool {
        state.withLock { !($0.sockets[id]?.patterns[channel]?.isEmpty ?? true) }
    }

    /// The channels whose broker subscription the node holds or is making: what a broker
    /// restores after a reconnection (the one record of them).
    public var brokerChannels: [String] {
        state.withLock { state in state.channels.compactMap { $0.value.subscription.isWanted ? $0.key : nil } }
    }

    /// Names of the channels that have subscribers on this node.
    public var channelNames: [String] {
        state.withLock { state in state.channels.compactMap { $0.value.patterns.isEmpty ? nil : $0.key } }
    }

    /// `true` if some socket of this node holds `channel`.
    public func contains(_ channel: String) -> Bool {
        state.withLock { state in !(state.channels[channel]?.patterns.isEmpty ?? true) }
    }

    /// Number of channels with subscribers, and of (socket, channel, pattern) subscriptions.
    public var counts: (channels: Int, subscriptions: Int) {
        state.withLock { state in
            var subscriptions = 0
            var channels = 0
            for entry in state.channels.values where !entry.patterns.isEmpty {
                channels += 1
                for pattern in entry.patterns { subscriptions += pattern.sockets.count }
            }
            return (channels, subscriptions)
        }
    }
}
