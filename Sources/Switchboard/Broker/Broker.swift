public import NIOCore

/// What a node needs from a message broker, and nothing more: publish a message to a channel,
/// subscribe and unsubscribe the node to channels, send bytes to another node's inbox, and say
/// whether it can do so now. What it receives goes to its delegate (the node's `Hub`), once per
/// message, batched per read. No broker sees a socket or a channel registry: after a reconnection
/// it asks the delegate which channels to restore.
///
/// `RedisBroker` (one Redis; Redis Cluster next) and `LocalBroker` (in-process) implement it,
/// with `HistoryStore` and `PresenceStore`.
public protocol Broker: AnyObject, Sendable {
    /// Short name for info and logs (`local`, `redis`).
    var name: String { get }
    /// This node's id: its sockets are `<nodeID>.<n>` across the cluster, and other nodes reach
    /// it through its inbox.
    var nodeID: String { get }
    /// `true` while the node can publish and subscribe (the broker is reachable and every
    /// subscription restored).
    var isReady: Bool { get }
    /// Facts about the broker for `info` (state, counters).
    var info: JSONObject { get }

    /// Binds the delegate that receives messages; called once, before `start`.
    func bind(_ delegate: any BrokerDelegate)

    /// Runs the broker (connects, and keeps its connections up) until `close()`; returns at once
    /// for a broker with nothing to run.
    func run() async

    /// Stops the broker; `run()` returns.
    func close() async

    /// Publishes a message to `channel` on every node; `rawData` is the data's validated JSON
    /// text, passed on as it is. `options` says what the channel keeps of it (history, state).
    /// The future belongs to `eventLoop` (the caller's) and gives where a history channel's
    /// message was written (`nil` for a channel without history); it fails with
    /// `BrokerError.cannotPublish` when the message cannot be published, without waiting.
    func publish(channel: String, event: String?, rawData: RawJSON, options: PublishOptions, on eventLoop: any EventLoop) -> EventLoopFuture<StreamPosition?>

    /// Publishes as `publish(channel:event:rawData:options:on:)` does, calling `completion` on
    /// `eventLoop` with the outcome instead of completing a future (the socket's publish path:
    /// no promise per message). By default, through the future.
    func publish(
        channel: String, event: String?, rawData: RawJSON, options: PublishOptions, on eventLoop: any EventLoop,
        completion: @escaping @Sendable (Result<StreamPosition?, any Error>) -> Void
    )

    /// Subscribes the node to `channel`. Returns once the subscription is active; throws
    /// `BrokerError.cannotSubscribe` when it cannot be made. The hub calls it once per channel
    /// and never while an unsubscribe of the channel is in flight.
    func subscribe(channel: String) async throws

    /// Releases the node's subscription to `channel`.
    func unsubscribe(channel: String) async

    /// Sends `message` to the inbox of node `nodeID`; returns how many nodes took it (0 when no
    /// node of that id is listening).
    func send(toNode nodeID: String, message: ByteBuffer) async throws -> Int
}

/// What a message keeps beyond its delivery.
public struct PublishOptions: Sendable, Equatable {
    /// The channel's history window: the message gets an offset and an epoch.
    public var history: ChannelFeatures.History?
    /// Keep the message as the channel's state, for this many seconds.
    public var stateTTL: Int?

    public init(history: ChannelFeatures.History? = nil, stateTTL: Int? = nil) {
        self.history = history
        self.stateTTL = stateTTL
    }

    /// Delivery only.
    public static let transient = PublishOptions()
}

/// What a broker hands back to its node.
public protocol BrokerDelegate: AnyObject, Sendable {
    /// One message received on `channel`: delivered to the node's sockets into `batch`, which
    /// the broker dispatches (`batch.dispatch()`) at the end of its read. Returns the number of
    /// sockets it goes to.
    func deliver(channel: String, event: String?, rawData: ByteBuffer, position: StreamPosition?, into batch: inout DeliveryBatch) -> Int

    /// A message to this node's inbox (a call to one of its sockets, or an answer).
    func receivedNodeMessage(_ message: ByteBuffer)

    /// The channels the node holds: what to subscribe again after a reconnection.
    func channelsToRestore() -> [String]

    /// A channel's options (whether it keeps history, which a broker recovers after a loss).
    func features(for channel: String) -> ChannelFeatures

    /// This node's presence entries, by channel (what a broker refreshes).
    func presenceEntries() -> [String: [PresenceEntry]]
}

/// Channel history and state, where the broker keeps them.
public protocol HistoryStore: AnyObject, Sendable {
    /// Reads the channel's history; a channel without history reads as empty with no epoch.
    /// Throws `BrokerError.cannotSubscribe` when it cannot be read.
    func history(channel: String, query: HistoryQuery) async throws -> HistoryPage

    /// The channel's state (the last message published with a `stateTTL`, while it lives), or
    /// `nil`. Throws `BrokerError.cannotSubscribe` when it cannot be read.
    func state(of channel: String) async throws -> ChannelState?
}

/// Who is in which channel, on every node, where the broker keeps it.
public protocol PresenceStore: AnyObject, Sendable {
    /// Adds entries to the channel's presence.
    func presenceAdd(channel: String, entries: [PresenceEntry]) async throws

    /// Removes sockets (cluster-wide ids) from the channel's presence.
    func presenceRemove(channel: String, sockets: [String]) async

    /// Everyone in the channel's presence, on every node (entries of nodes that stopped
    /// refreshing them are gone). Throws `BrokerError.cannotSubscribe` when it cannot be read.
    func presenceList(channel: String) async throws -> [PresenceEntry]
}

/// A broker with the history and presence it keeps: what a `Hub` runs on.
public typealias NodeBackend = Broker & HistoryStore & PresenceStore

/// The last message published to a channel with a state.
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

extension Broker {
    public func publish(
        channel: String, event: String?, rawData: RawJSON, options: PublishOptions, on eventLoop: any EventLoop,
        completion: @escaping @Sendable (Result<StreamPosition?, any Error>) -> Void
    ) {
        publish(channel: channel, event: event, rawData: rawData, options: options, on: eventLoop).whenComplete(completion)
    }
}
