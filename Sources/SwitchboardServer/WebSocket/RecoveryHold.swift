import Switchboard

/// A socket's history channels being recovered (`subscribe {since}`): their live messages are
/// held while the missed ones are read and sent, then released after them — none lost, none
/// twice, in order. Live messages at or before the last recovered offset that arrive after the
/// release (their PUBLISH was still on its way while the stream was read) are dropped. Pure.
struct RecoveryHold {
    /// What to do with a live message.
    enum Admission: Equatable {
        /// Deliver it now.
        case deliver
        /// Held, to be delivered at the release.
        case held
        /// Already sent by the recovery: drop it.
        case duplicate
        /// Too many held for its channel: the recovery cannot keep up (close as slow).
        case overflow
    }

    /// Most live messages held for one channel while its missed messages are read.
    static let maxHeldMessages = 100_000

    private var held: [String: [OutboundMessage]] = [:]
    /// For a channel just recovered: the last offset sent.
    private var recoveredThrough: [String: StreamOffset] = [:]

    /// `true` when nothing is held or marked: the common case, checked first on every delivery.
    var isIdle: Bool { held.isEmpty && recoveredThrough.isEmpty }

    /// Starts holding `channel`'s live messages.
    mutating func hold(channel: String) {
        if held[channel] == nil { held[channel] = [] }
    }

    /// Decides on a live message (only messages of history channels carry a position).
    mutating func admit(_ message: OutboundMessage) -> Admission {
        guard let history = message.history else { return .deliver }
        if held[history.channel] != nil {
            held[history.channel]!.append(message)
            return held[history.channel]!.count > Self.maxHeldMessages ? .overflow : .held
        }
        if let mark = recoveredThrough[history.channel] {
            // A channel's messages arrive in order: the first one after the mark ends the check.
            if history.offset <= mark { return .duplicate }
            recoveredThrough[history.channel] = nil
        }
        return .deliver
    }

    /// Stops holding `channel`; returns the held messages after `offset` (the last one the
    /// recovery sent; all of them when `nil`), to deliver in order.
    mutating func release(channel: String, after offset: StreamOffset?) -> [OutboundMessage] {
        guard let messages = held.removeValue(forKey: channel) else { return [] }
        var out: [OutboundMessage] = []
        var mark = offset
        for message in messages {
            if let offset, let position = message.history?.offset, position <= offset { continue }
            out.append(message)
            if let position = message.history?.offset { mark = max(mark ?? position, position) }
        }
        if let mark { recoveredThrough[channel] = mark }
        return out
    }
}
