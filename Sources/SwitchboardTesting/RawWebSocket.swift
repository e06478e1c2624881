public import NIOCore
public import NIOSSL
import NIOPosix
public import NIOWebSocket
public import Switchboard
import SwitchboardWebSocket
import Synchronization

/// A WebSocket client for tests that sends any frame and sees every message, pong and close.
public final class RawWebSocket: Sendable {
    /// What arrived from the server.
    public enum Event: Sendable, Equatable {
        case text(String, compressed: Bool)
        case pong(ByteBuffer)
        case closed(code: UInt16?, reason: String)
    }

    /// Something expected did not come.
    public struct Timeout: Error, CustomStringConvertible {
        public let description: String
    }

    public let channel: any Channel
    /// Everything received, in order (see also `next()`, which first returns messages `call`
    /// stepped over).
    public let events: Mailbox<Event>
    private let stashed = Mutex<[Event]>([])

    private init(channel: any Channel, events: Mailbox<Event>) {
        self.channel = channel
        self.events = events
    }

    /// Connects to `url` (`ws://...` or `wss://...`), offering per-message deflate when
    /// `compression`, with extra request `headers`.
    public static func connect(
        _ url: String,
        compression: Bool = false,
        headers: [(String, String)] = [],
        tls: TLSConfiguration? = nil
    ) async throws -> RawWebSocket {
        TestLog.bootstrap()
        let events = Mailbox<Event>()
        let channel = try await WebSocketClientConnection.connect(
            to: WebSocketURL(url),
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            compression: compression,
            headers: headers,
            tls: tls,
            callbacks: WebSocketClientCallbacks(
                onText: { text, compressed in events.put(.text(String(buffer: text), compressed: compressed)) },
                onPong: { data in events.put(.pong(data)) },
                onClose: { code, reason in events.put(.closed(code: code, reason: reason)) }
            )
        )
        return RawWebSocket(channel: channel, events: events)
    }

    /// Sends a text message.
    public func send(_ text: String) async throws {
        try await WebSocketClientConnection.send(text: ByteBuffer(string: text), on: channel).get()
    }

    /// Sends a JSON value as a text message.
    public func send(json: JSONValue) async throws {
        try await WebSocketClientConnection.send(text: json.jsonBytes, on: channel).get()
    }

    /// Sends a frame as given (its mask is added when missing).
    public func send(frame: WebSocketFrame) async throws {
        var frame = frame
        if frame.maskKey == nil { frame.maskKey = .random() }
        try await WebSocketClientConnection.send(frame, on: channel).get()
    }

    /// The next event.
    public func next(timeout: Duration = .seconds(15)) async throws -> Event {
        if let event = stashed.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) { return event }
        guard let event = await events.take(timeout: timeout) else {
            throw Timeout(description: "nothing from the server within \(timeout)")
        }
        return event
    }

    /// The next text message, parsed as JSON; throws if the next event is something else.
    public func nextJSON(timeout: Duration = .seconds(15)) async throws -> JSONValue {
        switch try await next(timeout: timeout) {
        case .text(let text, _): return try JSONValue(parsing: text)
        case let other: throw Timeout(description: "expected a text message, got \(other)")
        }
    }

    /// Sends `request` and returns the next reply; delivered messages met on the way are kept
    /// for `next()` (a publish reply and the message it caused may come in either order).
    public func call(_ request: JSONValue, timeout: Duration = .seconds(15)) async throws -> JSONValue {
        try await send(json: request)
        var skipped: [Event] = []
        defer { stashed.withLock { $0.append(contentsOf: skipped) } }
        while true {
            guard let event = await events.take(timeout: timeout) else {
                throw Timeout(description: "no reply within \(timeout)")
            }
            if case .text(let text, _) = event, let value = try? JSONValue(parsing: text), Self.isReply(value) {
                return value
            }
            if case .closed(let code, let reason) = event {
                skipped.append(event)
                throw Timeout(description: "the connection closed (\(code.map(String.init) ?? "no code") \(reason)) before the reply")
            }
            skipped.append(event)
        }
    }

    /// `true` for a reply of any protocol: `/stream` (`response`, `error`), JSON-RPC and wsrpc
    /// (`result`, `error`, with an id), or a JSON-RPC batch (an array).
    static func isReply(_ value: JSONValue) -> Bool {
        if value.arrayValue != nil { return true }
        if value["response"] != nil || value["error"] != nil { return true }
        return value["result"] != nil && value["id"] != nil
    }

    /// Waits for the connection to end and returns the close code the server sent.
    public func closeCode(timeout: Duration = .seconds(15)) async throws -> UInt16? {
        while true {
            if case .closed(let code, _) = try await next(timeout: timeout) { return code }
        }
    }

    /// Closes with a close handshake.
    public func close(code: UInt16 = 1000) async {
        try? await WebSocketClientConnection.close(channel, code: code).get()
    }

    /// Drops the TCP connection without a close frame.
    public func abort() {
        channel.close(promise: nil)
    }
}
