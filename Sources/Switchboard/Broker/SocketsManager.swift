public import Logging
public import NIOCore

/// The seam between the RPC layer and a message broker: the connected sockets, the channel
/// registry, and the broker operations. `LocalBroker` (in-process) and `RedisBroker` implement it.
///
/// Backends implement the broker primitives (`publish`, `subscribe(channel:)`,
/// `unsubscribe(channel:)`); the socket-level operations (`join`, `leave`, `connect`,
/// `disconnect`) are shared and call them once per node and channel.
public protocol SocketsManager: AnyObject, Sendable {
    /// The sockets connected to this node.
    var sockets: SocketRegistry { get }
    /// Channels and their local subscribers on this node.
    var channels: ChannelRegistry { get }
    /// The node's counters (messages published, received, delivered, dropped).
    var metrics: SwitchboardMetrics { get }
    /// This node's id: its sockets are `<nodeID>.<n>` across the cluster, and other nodes reach
    /// it through its inbox (`<prefix>node:<nodeID>`).
    var nodeID: String { get }
    /// Calls and events to sockets anywhere in the cluster (see `call(socket:…)`).
    var calls: SocketCalls { get }
    /// Short name of the backend, for info and logs (`local`, `redis`).
    var brokerName: String { get }
    /// `true` while the node can publish and subscribe (the broker is reachable and every
    /// subscription restored).
    var isReady: Bool { get }

    /// Publishes a message to every socket subscribed to `channel` on every node; `rawData` is the
    /// data's validated JSON text, passed on as it is. The future belongs to `eventLoop` (the
    /// caller's); it fails with `BrokerError.cannotPublish` when the message cannot be published,
    /// without waiting.
    func publish(channel: String, event: String?, rawData: RawJSON, on eventLoop: any EventLoop) -> EventLoopFuture<Void>

    /// Publishes like `publish` and keeps the message as the channel's state, which every later
    /// subscriber, on any node, is sent at once (aiohttp-json-rpc's `notify(…, state=True)`).
    /// Storing and publishing happen together: no subscriber sees one without the other.
    func publishState(channel: String, event: String?, rawData: RawJSON, on eventLoop: any EventLoop) -> EventLoopFuture<Void>

    /// Publishes to the channel's subscribers only, never to its history (join and leave
    /// events). Like `publish` otherwise.
    func publishTransient(channel: String, event: String?, rawData: RawJSON, on eventLoop: any EventLoop) -> EventLoopFuture<Void>

    /// Reads the channel's history (see `ChannelFeatures.history`); a channel without history
    /// reads as empty with no epoch. Throws `BrokerError.cannotSubscribe` when the broker cannot
    /// be read.
    func history(channel: String, query: HistoryQuery) async throws -> HistoryPage

    /// This node's presence entries (which local socket is in which presence channel).
    var presence: PresenceTracker { get }

    /// Adds entries to the channel's presence at the broker.
    func presenceAdd(channel: String, entries: [PresenceEntry]) async throws

    /// Removes sockets (cluster-wide ids) from the channel's presence at the broker.
    func presenceRemove(channel: String, sockets: [String]) async

    /// Everyone in the channel's presence, on every node (entries of nodes that stopped
    /// refreshing them are gone). Throws `BrokerError.cannotSubscribe` when the broker cannot
    /// be read.
    func presenceList(channel: String) async throws -> [PresenceEntry]

    /// The channel's state: the last message published with `publishState`, or `nil`. Throws
    /// `BrokerError.cannotSubscribe` when the broker cannot be read.
    func state(of channel: String) async throws -> ChannelState?

    /// Sends `message` to the inbox of node `nodeID`, whose broker hands it to its `calls`.
    /// Returns how many nodes took it: 0 when no node of that id is listening.
    func send(toNode nodeID: String, message: ByteBuffer) async throws -> Int

    /// Subscribes the node to `channel` at the broker (called once per node when a channel gets
    /// its first local subscriber). Returns once the subscription is active; throws
    /// `BrokerError.cannotSubscribe` when it cannot be made.
    func subscribe(channel: String) async throws

    /// Releases the node's subscription to `channel` (its last local subscriber left).
    func unsubscribe(channel: String) async

    /// Called on every successful socket subscription (hook; does nothing by default).
    func subscribeToEvent(channel: String, event: String) async

    /// Extra facts about the broker for `info` (state, counters).
    var brokerInfo: JSONObject { get }

    /// Starts the broker (connects, spawns workers).
    func start() async throws

    /// Closes every socket (1001, going away) and stops the broker.
    func close() async
}

/// The last message published to a channel with `publishState`.
public struct ChannelState: Sendable, Equatable {
    /// Its event.
    public var event: String?
    /// Its data's JSON text.
    public var rawData: ByteBuffer

    public init(event: String?, rawData: ByteBuffer) {
        self.event = event
        self.rawData = rawData
    }
}

extension SocketsManager {
    /// Publishes `data` (see `publish(channel:event:rawData:on:)`).
    public func publish(channel: String, event: String?, data: JSONValue, on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        publish(channel: channel, event: event, rawData: RawJSON(data), on: eventLoop)
    }

    public func subscribeToEvent(channel: String, event: String) async {}

    public var brokerInfo: JSONObject { JSONObject() }

    /// The `info` response: connections and channels on this node (`only` those named, when
    /// given), plus the broker's facts.
    public func serverInfo(only names: Set<String>? = nil) -> JSONObject {
        var info = JSONObject()
        info.append("connections", .number(JSONNumber(sockets.count)))
        info.append("channels", .object(channels.info(only: names)))
        var broker = brokerInfo
        broker["name"] = .string(brokerName)
        broker["ready"] = .bool(isReady)
        info.append("broker", .object(broker))
        return info
    }

    /// Registers a newly connected socket.
    public func connect(_ socket: any SocketHandle) {
        sockets.add(socket)
        channels.attach(socket)
    }

    /// Forgets a socket: it leaves every channel at once, and channels left empty are released
    /// at the broker.
    public func disconnect(_ id: SocketID) {
        if let loop = sockets.socket(id)?.eventLoop { dropPresence(id, on: loop) }
        sockets.remove(id)
        let released = channels.detach(id)
        guard !released.isEmpty else { return }
        Task {
            for channel in released { await self.release(channel) }
        }
    }

    /// Subscribes a socket to `pattern` on `channel`, subscribing the node at the broker first if
    /// it holds no subscription to the channel yet. Returns every channel and pattern the socket
    /// holds. Throws `BrokerError.cannotSubscribe` or `RPCError`.
    public func join(_ id: SocketID, channel: String, pattern: String) async throws -> JSONObject {
        switch channels.beginJoin(id, channel: channel, pattern: pattern) {
        case .tooManySubscriptions:
            throw RPCError.tooManySubscriptions(limit: channels.limits.maxSubscriptionsPerSocket)
        case .ready:
            break
        case .wait:
            do {
                try await channels.waitForBroker(channel: channel)
            } catch {
                await abandon(channel)
                throw error
            }
        case .subscribe:
            do {
                try await subscribe(channel: channel)
                channels.brokerSubscribed(channel: channel)
            } catch {
                channels.brokerFailed(channel: channel, error: error)
                await abandon(channel)
                throw error
            }
        }
        switch channels.completeJoin(id, channel: channel, pattern: pattern) {
        case .subscribed(let map):
            await subscribeToEvent(channel: channel, event: pattern)
            return map
        case .socketGone(let release):
            if release { await self.release(channel) }
            return JSONObject()
        case .tooManySubscriptions(let release):
            if release { await self.release(channel) }
            throw RPCError.tooManySubscriptions(limit: channels.limits.maxSubscriptionsPerSocket)
        }
    }

    private func abandon(_ channel: String) async {
        if channels.abandonJoin(channel: channel) {
            await release(channel)
        }
    }

    /// Releases the node's broker subscription to `channel`, which the registry found empty,
    /// and subscribes it again when sockets joined meanwhile (they wait for that subscribe).
    /// The registry orders the two: a join never finds the channel active while it is released.
    public func release(_ channel: String) async {
        await unsubscribe(channel: channel)
        guard channels.brokerUnsubscribed(channel: channel) == .subscribe else { return }
        do {
            try await subscribe(channel: channel)
            channels.brokerSubscribed(channel: channel)
        } catch {
            channels.brokerFailed(channel: channel, error: error)
        }
    }

    /// Removes one pattern of a socket from a channel; releases the channel at the broker when it
    /// is left empty. Throws `BrokerError.cannotSubscribe` ("Invalid channel") when this node
    /// holds no subscription to the channel.
    public func leave(_ id: SocketID, channel: String, pattern: String) async throws -> JSONObject {
        switch channels.leave(id, channel: channel, pattern: pattern) {
        case .notHeld:
            throw BrokerError.cannotSubscribe
        case .left(let map, let release):
            if release { await self.release(channel) }
            return map
        }
    }

    /// Sends `socket` the channel's state, if it has one whose event `pattern` matches. A state
    /// that cannot be read (the broker is down) is logged and skipped: the subscription stands.
    public func sendState(of channel: String, matching pattern: String, to socket: RPCSocket, logger: Logger) async {
        do {
            guard let state = try await state(of: channel), GlobPattern(pattern).matches(state.event ?? "") else { return }
            socket.send(channel: channel, event: state.event, rawData: state.rawData)
        } catch {
            logger.warning("cannot read the channel's state", metadata: ["channel": "\(channel)", "error": "\(error)"])
        }
    }

    /// Calls `method` on the client of socket `socket` (a cluster-wide id, `<node-id>.<n>`),
    /// whichever node holds it, and returns the client's result. Throws `SocketCalls.Failure`:
    /// `noSuchSocket` (unknown, closed, or its node is gone: at once), `timedOut`, `client` (the
    /// client's error), or `unavailable`.
    public func call(socket: String, method: String, params: JSONValue = .object([:]), timeout: Duration = .seconds(10)) async throws(SocketCalls.Failure) -> JSONValue {
        try await calls.call(socket: socket, method: method, params: params, timeout: timeout, manager: self)
    }

    /// Sends an event to the client of socket `socket`, whichever node holds it (wsrpc: the
    /// object as it is; JSON-RPC: a notification; `/stream`: the object as a message).
    public func emit(socket: String, event: JSONObject) async throws(SocketCalls.Failure) {
        try await calls.emit(socket: socket, event: event, manager: self)
    }

    /// Closes every connected socket with `code`.
    public func closeSockets(code: UInt16 = 1001, reason: String = "going away") {
        for socket in sockets.all {
            socket.close(code: code, reason: reason)
        }
    }
}
