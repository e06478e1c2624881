import DequeModule
public import NIOCore

/// A push on a connection in subscribe mode (RESP2 arrays).
public enum RedisPush: Sendable, Equatable {
    /// `["message", channel, payload]` (or `["smessage", …]`, sharded pub/sub).
    case message(channel: ByteBuffer, payload: ByteBuffer)
    /// `["subscribe", channel, count]`: the subscription is active.
    case subscribed(channel: String, count: Int64)
    /// `["unsubscribe", channel, count]`.
    case unsubscribed(channel: String, count: Int64)
    /// `["pong", data]` (PING in subscribe mode).
    case pong
    /// An error reply to a subscribe-mode command (on a cluster: `MOVED` for a channel whose slot
    /// is another shard's).
    case error(String)
}

/// Routes replies: to the waiter of the oldest command still waiting (Redis answers in order),
/// or, once nothing waits and the connection subscribed, as pub/sub pushes. Pure state: the
/// channel handler performs the actions.
///
/// On a subscribed connection only (UN)SUBSCRIBE and PING may be sent after the first
/// SUBSCRIBE; they add no waiter, their confirmations arrive as pushes.
struct RedisReplyRouter<Waiter> {
    enum Action {
        case succeed(Waiter, RESPValue)
        case fail(Waiter, RedisError)
        case push(RedisPush)
        case protocolViolation(String)
    }

    /// A deque: a waiter moves out when its reply comes (NIO's `CircularBuffer` copies it).
    private(set) var waiting = Deque<Waiter>()
    private(set) var subscribed = false

    /// A command that expects one reply was sent.
    mutating func sentCommand(_ waiter: Waiter) {
        waiting.append(waiter)
    }

    /// A SUBSCRIBE (or other subscribe-mode command) was sent.
    mutating func sentSubscription() {
        subscribed = true
    }

    /// A reply as the reader tells it: a pub/sub message goes straight to a push when nothing
    /// waits for a reply (else it is that command's reply, as an array).
    mutating func received(_ reply: HiredisReader.Reply) -> Action {
        switch reply {
        case .message(let channel, let payload, _) where waiting.isEmpty && subscribed:
            return .push(.message(channel: channel, payload: payload))
        case .message:
            return received(reply.value)
        case .value(let value):
            return received(value)
        }
    }

    mutating func received(_ value: RESPValue) -> Action {
        if let waiter = waiting.popFirst() {
            if case .error(let message) = value { return .fail(waiter, .server(message)) }
            return .succeed(waiter, value)
        }
        guard subscribed else { return .protocolViolation("a reply no command waits for: \(value)") }
        guard case .array(let parts) = value, let kindBytes = parts.first?.bytes else {
            if case .error(let message) = value { return .push(.error(message)) }
            return .protocolViolation("unexpected reply in subscribe mode: \(value)")
        }
        // The commonest push, compared as bytes (no string per message); a "message" push of
        // another shape falls through to the protocol violation below.
        if parts.count == 3, kindBytes.readableBytesView.elementsEqual("message".utf8) || kindBytes.readableBytesView.elementsEqual("smessage".utf8),
            let channel = parts[1].bytes, let payload = parts[2].bytes
        {
            return .push(.message(channel: channel, payload: payload))
        }
        let kind = String(buffer: kindBytes)
        switch (kind, parts.count) {
        case ("subscribe", 3), ("ssubscribe", 3):
            return .push(.subscribed(channel: parts[1].string ?? "", count: parts[2].integer ?? 0))
        case ("unsubscribe", 3), ("sunsubscribe", 3):
            return .push(.unsubscribed(channel: parts[1].string ?? "", count: parts[2].integer ?? 0))
        case ("pong", _):
            return .push(.pong)
        default:
            break
        }
        return .protocolViolation("unexpected push: \(value)")
    }

    /// The connection closed: every waiter fails.
    mutating func closed() -> [Waiter] {
        defer { waiting.removeAll() }
        return Array(waiting)
    }
}
