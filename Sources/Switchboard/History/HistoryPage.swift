public import NIOCore

/// One message read back from a channel's history.
public struct HistoryMessage: Sendable, Equatable {
    /// Its offset in the channel's history.
    public var offset: StreamOffset
    /// Its event.
    public var event: String?
    /// Its data's JSON text.
    public var rawData: ByteBuffer

    public init(offset: StreamOffset, event: String?, rawData: ByteBuffer) {
        self.offset = offset
        self.event = event
        self.rawData = rawData
    }
}

/// What a read of a channel's history returns: messages in the asked order, and the facts a
/// recovery needs to know whether nothing is missing.
public struct HistoryPage: Sendable {
    /// The messages read (oldest first, or newest first for a reverse read).
    public var messages: [HistoryMessage]
    /// The history's epoch (`nil` when the channel has no history now: never published, or
    /// expired).
    public var epoch: String?
    /// The offset of the newest message the history ever took (the position of a client that is
    /// up to date); `nil` when there is no history.
    public var latest: StreamOffset?
    /// Messages up to this offset were trimmed from the window (or deleted): a client whose
    /// offset is older than it cannot get everything it missed.
    public var trimmedThrough: StreamOffset

    public init(messages: [HistoryMessage], epoch: String?, latest: StreamOffset?, trimmedThrough: StreamOffset = .zero) {
        self.messages = messages
        self.epoch = epoch
        self.latest = latest
        self.trimmedThrough = trimmedThrough
    }

    /// Why a client at `position` cannot recover everything it missed from this history, or
    /// `nil` when it can.
    public func recoveryProblem(from position: StreamPosition) -> String? {
        guard let epoch else { return "the channel has no history now (it expired, or was never published to)" }
        guard position.epoch.isEmpty || epoch == position.epoch else { return "the channel's history was lost and started again (epoch \(epoch), not \(position.epoch))" }
        if position.offset < trimmedThrough { return "the position fell out of the history's window (older than \(trimmedThrough))" }
        if let latest, latest < position.offset { return "the offset is ahead of the history (newest \(latest))" }
        return nil
    }
}

/// A read of a channel's history: after which offset (exclusive), how many, which way.
public struct HistoryQuery: Sendable, Equatable {
    /// Messages after this offset only (`nil`: from the start, or from the end when reversed).
    public var after: StreamOffset?
    /// At most this many messages.
    public var limit: Int
    /// Newest first.
    public var reverse: Bool

    public init(after: StreamOffset? = nil, limit: Int, reverse: Bool = false) {
        self.after = after
        self.limit = limit
        self.reverse = reverse
    }
}
