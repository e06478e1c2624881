public import NIOCore

/// One channel's history in memory (the local broker's): a window of the newest messages, an
/// epoch, and offsets `0-<n>` counted from 1.
public struct LocalHistory: Sendable {
    /// The epoch, new for every history.
    public let epoch: String
    private var messages = CircularBuffer<HistoryMessage>()
    private var next: UInt64 = 1
    private var trimmed = StreamOffset.zero
    /// When the history is dropped if nothing is published until then.
    public private(set) var expires: NIODeadline

    public init(epoch: String = HistoryEpoch.random(), expires: NIODeadline) {
        self.epoch = epoch
        self.expires = expires
    }

    /// Appends a message, keeping at most `size`; returns its position.
    public mutating func append(event: String?, rawData: ByteBuffer, size: Int, expires: NIODeadline) -> StreamPosition {
        let offset = StreamOffset(major: 0, minor: next)
        next += 1
        messages.append(HistoryMessage(offset: offset, event: event, rawData: rawData))
        while messages.count > max(size, 1) {
            trimmed = messages.removeFirst().offset
        }
        self.expires = expires
        return StreamPosition(offset: offset, epoch: epoch)
    }

    /// Reads the window as `query` asks.
    public func read(_ query: HistoryQuery) -> HistoryPage {
        var selected: [HistoryMessage] = []
        let limit = max(query.limit, 0)
        if query.reverse {
            for message in messages.reversed() where selected.count < limit {
                if let after = query.after, message.offset <= after { break }
                selected.append(message)
            }
        } else {
            for message in messages where selected.count < limit {
                if let after = query.after, message.offset <= after { continue }
                selected.append(message)
            }
        }
        let latest = next > 1 ? StreamOffset(major: 0, minor: next - 1) : nil
        return HistoryPage(messages: selected, epoch: epoch, latest: latest, trimmedThrough: trimmed)
    }
}
