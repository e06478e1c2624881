public import Logging
public import NIOCore

/// One node: its sockets, its channels and each channel's broker subscription, its presence
/// entries and its calls to sockets anywhere, over a broker that only moves bytes (Centrifuge's
/// Node and Hub). Every protocol's methods and the HTTP API go through it, so there is one code
/// path for what a subscribe means, whichever protocol asked:
///
/// - sockets: `connect`, `disconnect`;
/// - channels: `subscribe` (join, the channel's state, recovery from `since`, presence, `$join`),
///   `unsubscribe`, `reauthorize` (a new identity leaves what it may not hold);
/// - messages: `publish`, `publishState`, `publishTransient`, `history`, `presenceList`;
/// - calls and events to a socket on any node: `call(socket:…)`, `emit(socket:…)`.
///
/// What follows a socket's close or a change of identity (releasing channels at the broker,
/// leaving presence) is queued and done in order by `run()`, which the node's service group runs;
/// `docs/architecture.md` follows a message through it.
public final class Hub: BrokerDelegate {
    /// The sockets connected to this node.
    public let sockets = SocketRegistry()
    /// Channel → pattern → sockets, and each channel's broker subscription.
    public let channels: ChannelRegistry
    /// This node's presence entries.
    public let presence = PresenceTracker()
    /// Calls and events to sockets anywhere in the cluster.
    public let calls = SocketCalls()
    /// The node's counters.
    public let metrics: SwitchboardMetrics
    /// The broker the node runs on.
    public let broker: any Broker
    let historyStore: any HistoryStore
    let presenceStore: any PresenceStore
    let logger: Logger
    private let work: AsyncStream<Job>
    private let workInput: AsyncStream<Job>.Continuation

    /// Work that follows a socket's close or a change of identity.
    enum Job: Sendable {
        /// Release the channel at the broker (its last socket left).
        case release(String)
        /// Remove entries from presence, announcing `$leave` where the channel wants it.
        case leavePresence([PresenceTracker.Membership], on: any EventLoop)
        /// Tell a closed socket's route-group instances (`socketClosed`), beside the other work.
        case closeRouteGroups([any RPCRouteGroup])
    }

    /// A hub over `backend` (a broker with its history and presence stores).
    public init(
        backend: any NodeBackend,
        channels: ChannelRegistry = ChannelRegistry(),
        metrics: SwitchboardMetrics = SwitchboardMetrics(),
        logger: Logger = Logger(label: "switchboard.hub")
    ) {
        self.broker = backend
        self.historyStore = backend
        self.presenceStore = backend
        self.channels = channels
        self.metrics = metrics
        self.logger = logger
        (work, workInput) = AsyncStream.makeStream(of: Job.self)
        backend.bind(self)
    }

    /// This node's id.
    public var nodeID: String { broker.nodeID }
    /// The broker's name (`local`, `redis`).
    public var brokerName: String { broker.name }
    /// `true` while the broker can publish and subscribe.
    public var isReady: Bool { broker.isReady }
    /// The broker's facts (`info`'s `broker` object: for Redis, each shard link's state).
    public var brokerInfo: JSONObject { broker.info }

    // MARK: - Lifecycle

    /// Runs the broker and does the queued work (releases, presence) in order, until `close()`;
    /// a closed socket's route groups are told on tasks of this group, which `run()` waits for.
    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.broker.run() }
            for await job in work {
                switch job {
                case .release(let channel):
                    await release(channel)
                case .leavePresence(let memberships, let eventLoop):
                    for membership in memberships { await leftPresence(membership, on: eventLoop) }
                case .closeRouteGroups(let groups):
                    // Application code: it must not hold up the releases behind it.
                    group.addTask {
                        for routeGroup in groups { await routeGroup.socketClosed() }
                    }
                }
            }
        }
    }

    /// Closes every socket (1001, going away), ends `run()` and stops the broker.
    public func close() async {
        closeSockets()
        workInput.finish()
        await broker.close()
    }

    func enqueue(_ job: Job) {
        workInput.yield(job)
    }

    // MARK: - Sockets

    /// Registers a newly connected socket.
    public func connect(_ socket: any SocketHandle) {
        sockets.add(socket)
        channels.attach(socket)
    }

    /// Forgets a socket: it leaves every channel at once (channels left empty are released at
    /// the broker) and every presence it was in.
    public func disconnect(_ id: SocketID) {
        let loop = sockets.socket(id)?.eventLoop
        sockets.remove(id)
        // The registry first: a presence entry a subscribe adds after this finds the socket gone.
        for channel in channels.detach(id) { enqueue(.release(channel)) }
        let memberships = presence.removeAll(id)
        if !memberships.isEmpty, let loop { enqueue(.leavePresence(memberships, on: loop)) }
    }

    /// Closes every connected socket with `code`.
    public func closeSockets(code: UInt16 = 1001, reason: String = "going away") {
        for socket in sockets.all {
            socket.close(code: code, reason: reason)
        }
    }

    /// The `info` response: connections and channels on this node (`only` those named, when
    /// given), plus the broker's facts.
    public func serverInfo(only names: Set<String>? = nil) -> JSONObject {
        var info = JSONObject()
        info.append("connections", .number(JSONNumber(sockets.count)))
        info.append("channels", .object(channels.info(only: names)))
        var brokerFacts = broker.info
        brokerFacts["name"] = .string(brokerName)
        brokerFacts["ready"] = .bool(isReady)
        info.append("broker", .object(brokerFacts))
        return info
    }

    // MARK: - Calls to sockets anywhere

    /// Calls `method` on the client of socket `socket` (a cluster-wide id, `<node-id>.<n>`),
    /// whichever node holds it, and returns the client's result. Throws `SocketCalls.Failure`:
    /// `noSuchSocket` (unknown, closed, or its node is gone: at once), `timedOut`, `client` (the
    /// client's error), or `unavailable`.
    public func call(socket: String, method: String, params: JSONValue = .object([:]), timeout: Duration = .seconds(10)) async throws(SocketCalls.Failure) -> JSONValue {
        try await calls.call(socket: socket, method: method, params: params, timeout: timeout, hub: self)
    }

    /// Sends an event to the client of socket `socket`, whichever node holds it (wsrpc: the
    /// object as it is; JSON-RPC: a notification; `/stream`: the object as a message).
    public func emit(socket: String, event: JSONObject) async throws(SocketCalls.Failure) {
        try await calls.emit(socket: socket, event: event, hub: self)
    }

    // MARK: - BrokerDelegate

    public func deliver(channel: String, event: String?, rawData: ByteBuffer, position: StreamPosition?, into batch: inout DeliveryBatch) -> Int {
        channels.deliver(channel: channel, event: event, rawData: rawData, position: position, into: &batch)
    }

    public func receivedNodeMessage(_ message: ByteBuffer) {
        calls.receive(message, hub: self)
    }

    public func channelsToRestore() -> [String] {
        channels.brokerChannels
    }

    public func features(for channel: String) -> ChannelFeatures {
        channels.features(for: channel)
    }

    public func presenceEntries() -> [String: [PresenceEntry]] {
        presence.byChannel()
    }
}
