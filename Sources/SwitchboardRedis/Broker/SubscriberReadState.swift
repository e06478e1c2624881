import NIOCore
import Switchboard

/// State of the subscriber connections' read path (every shard link's subscriber connection is
/// on the one subscriber event loop); touched only on that loop.
final class SubscriberReadState: @unchecked Sendable {
    private let eventLoop: any EventLoop
    @exclusivity(unchecked) private var _batch = DeliveryBatch()
    @exclusivity(unchecked) private var _dropped = 0
    @exclusivity(unchecked) private var _delegate: (any BrokerDelegate)?

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    var batch: DeliveryBatch {
        _read { eventLoop.assertInEventLoop(); yield _batch }
        _modify { eventLoop.assertInEventLoop(); yield &_batch }
    }

    /// Where received messages go (the hub), read on every message.
    var delegate: (any BrokerDelegate)? {
        get { eventLoop.assertInEventLoop(); return _delegate }
        set { eventLoop.assertInEventLoop(); _delegate = newValue }
    }

    var dropped: Int {
        get { eventLoop.assertInEventLoop(); return _dropped }
        set { eventLoop.assertInEventLoop(); _dropped = newValue }
    }

    @exclusivity(unchecked) private var names = ChannelNameCache()

    /// Messages received and deliveries made in the current read: added to the metrics once
    /// per read (`takeCounts`), not per message.
    @exclusivity(unchecked) var receivedInRead = 0
    @exclusivity(unchecked) var deliveredInRead = 0

    /// The current read's counts, reset.
    func takeCounts() -> (received: Int, delivered: Int) {
        defer {
            receivedInRead = 0
            deliveredInRead = 0
        }
        return (receivedInRead, deliveredInRead)
    }

    /// The Switchboard channel of a Redis channel (`nil` when it is not one of ours), from the
    /// names of the channels pushed recently (`ChannelNameCache`).
    func channelName(_ redisChannel: ByteBuffer, naming: RedisChannelNaming) -> String? {
        names.name(of: redisChannel, naming: naming)
    }

    // MARK: - History channels

    /// A history channel's message held back while the node recovers the channel.
    struct HeldMessage {
        let event: String?
        let rawData: ByteBuffer
        let position: StreamPosition
    }

    /// The last position delivered per history channel.
    @exclusivity(unchecked) private var lastDelivered: [String: StreamPosition] = [:]
    /// History channels being recovered after a reconnection, and their live messages meanwhile.
    @exclusivity(unchecked) private var held: [String: [HeldMessage]] = [:]

    /// Whether a history channel's live message is delivered now: `false` for one already
    /// delivered (recovery and live overlap) and for one held back during a recovery.
    func admit(channel: String, event: String?, rawData: ByteBuffer, position: StreamPosition) -> Bool {
        eventLoop.assertInEventLoop()
        if held[channel] != nil {
            held[channel]!.append(HeldMessage(event: event, rawData: rawData, position: position))
            return false
        }
        return advance(channel, to: position)
    }

    /// Records `position` as delivered unless it is not after the last one of the same epoch.
    private func advance(_ channel: String, to position: StreamPosition) -> Bool {
        if let last = lastDelivered[channel], last.epoch == position.epoch, position.offset <= last.offset { return false }
        lastDelivered[channel] = position
        return true
    }

    /// Starts holding the live messages of every channel in `channels` this node delivered
    /// history messages from; returns their last positions, to read what followed.
    func beginRecovery(of channels: Set<String>) -> [String: StreamPosition] {
        eventLoop.assertInEventLoop()
        var positions: [String: StreamPosition] = [:]
        for (channel, position) in lastDelivered where channels.contains(channel) {
            positions[channel] = position
            held[channel] = held[channel] ?? []
        }
        return positions
    }

    /// Ends a channel's recovery: the messages read from its stream (`nil` when it could not be
    /// read), then the held live ones, each once and in order. Returns what to deliver.
    func finishRecovery(of channel: String, read: [HeldMessage]?) -> [HeldMessage] {
        eventLoop.assertInEventLoop()
        let live = held.removeValue(forKey: channel) ?? []
        var out: [HeldMessage] = []
        for message in (read ?? []) + live where advance(channel, to: message.position) {
            out.append(message)
        }
        return out
    }

    /// Forgets a channel the node no longer subscribes to.
    func forget(_ channel: String) {
        eventLoop.assertInEventLoop()
        lastDelivered[channel] = nil
        held[channel] = nil
    }
}
