import Logging
import NIOCore
import NIOPosix
import Switchboard
import SwitchboardWebSocket
import NIOWebSocket
import NIOSSL
import Synchronization

/// The connection underneath: sending, reading replies and messages, reconnecting.
extension SwitchboardClient {
    // MARK: - Internals

    @discardableResult
    func register(_ subscription: LocalSubscription) -> UInt64 {
        let key = state.withLock { state -> UInt64 in
            state.nextID += 1
            state.subscriptions[state.nextID] = subscription
            return state.nextID
        }
        subscription.continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscriptions.removeValue(forKey: key) }
        }
        return key
    }

    static func subscriptionPayload(channel: String, event: String?) -> JSONObject {
        var payload: JSONObject = ["channel": .string(channel)]
        if let event { payload["event"] = .string(event) }
        return payload
    }

    func fail(id: String, with error: any Error) {
        state.withLock { $0.pending.removeValue(forKey: id) }?.continuation.resume(throwing: error)
    }

    func received(_ text: ByteBuffer) {
        guard case .object(let object)? = text.withUnsafeReadableBytes({ try? JSONParser.parse($0) }) else {
            logger.warning("server sent a frame that is not a JSON object")
            return
        }
        switch wireProtocol {
        case .stream: receivedStream(object)
        case .jsonRPC: receivedJSONRPC(object)
        }
    }

    /// The node says the token expired: get a new one and log in again (or let the node close).
    func refreshToken(answering id: JSONValue?) {
        guard let provider = configuration.tokenProvider else {
            logger.warning("the node asks for a new token and there is no tokenProvider: it will close the connection")
            if let id { answerUnknownMethod(id: id) }
            return
        }
        background {
            guard let token = await provider() else { return }
            if let id, let channel = self.state.withLock({ $0.channel }) {
                // JSON-RPC: the answer to the node's refresh call is the token.
                var text = ByteBuffer()
                JSONRPCCodec().encodeResult(RawJSON(.string(token)), for: RPCReplyAddress(rawID: id.jsonBytes), into: &text)
                WebSocketClientConnection.send(text: text, on: channel).whenFailure { _ in }
            } else {
                _ = try? await self.call("login", payload: ["token": .string(token)])
            }
        }
    }

    func receivedStream(_ object: JSONObject) {
        if object["event"] == "refresh", object["channel"] == nil, object["id"] == nil {
            refreshToken(answering: nil)
            return
        }
        if object["response"] == nil, object["error"] == nil, case .string(let channel)? = object["channel"] {
            var position: StreamPosition? = nil
            if let offset = object["offset"]?.stringValue.flatMap(StreamOffset.init), let epoch = object["epoch"]?.stringValue {
                position = StreamPosition(offset: offset, epoch: epoch)
                // A message seen already (a recovery overlapping what arrived) is dropped.
                let fresh = state.withLock { state -> Bool in
                    if let last = state.positions[channel], last.epoch == epoch, offset <= last.offset { return false }
                    state.positions[channel] = position
                    return true
                }
                guard fresh else { return }
            }
            deliver(ChannelMessage(channel: channel, event: object["event"]?.stringValue ?? "", data: object["data"] ?? .null, position: position))
            return
        }
        guard case .string(let id)? = object["id"] else {
            logger.debug("reply to no pending call", metadata: ["reply": "\(JSONValue.object(object))"])
            return
        }
        if case .object(let error)? = object["error"] {
            resolve(id: id, with: .failure(RPCError(streamError: error)))
        } else {
            resolve(id: id, with: .success(object["response"] ?? .null))
        }
    }

    func receivedJSONRPC(_ object: JSONObject) {
        let id = object["id"]?.nonNull
        if case .string(let topic)? = object["method"] {
            if let id {
                // The node calls this client, which serves no methods but `refresh`.
                if topic == "refresh" { refreshToken(answering: id) } else { answerUnknownMethod(id: id) }
            } else {
                deliver(ChannelMessage(channel: topic, event: "", data: object["params"] ?? .null))
            }
            return
        }
        guard let key = id?.intValue.map(String.init) else {
            logger.debug("reply to no pending call", metadata: ["reply": "\(JSONValue.object(object))"])
            return
        }
        if case .object(let error)? = object["error"] {
            resolve(id: key, with: .failure(RPCError(
                code: error["code"]?.intValue ?? RPCError.Code.internalError,
                message: error["message"]?.stringValue ?? "",
                data: error["data"]
            )))
        } else {
            resolve(id: key, with: .success(object["result"] ?? .null))
        }
    }

    func answerUnknownMethod(id: JSONValue) {
        guard let channel = state.withLock({ $0.channel }) else { return }
        var text = ByteBuffer()
        JSONRPCCodec().encodeError(.unknownMethod("?"), for: RPCReplyAddress(rawID: id.jsonBytes), into: &text)
        WebSocketClientConnection.send(text: text, on: channel).whenFailure { _ in }
    }

    func deliver(_ message: ChannelMessage) {
        let targets = state.withLock { state in
            state.subscriptions.values.filter { ($0.channel == nil || $0.channel == message.channel) && $0.pattern.matches(message.event) }
        }
        for target in targets { target.continuation.yield(message) }
    }

    func resolve(id: String, with result: Result<JSONValue, RPCError>) {
        guard let pending = state.withLock({ $0.pending.removeValue(forKey: id) }) else {
            logger.debug("reply to no pending call", metadata: ["id": "\(id)"])
            return
        }
        switch result {
        case .success(let value): pending.continuation.resume(returning: value)
        case .failure(let error): pending.continuation.resume(throwing: SwitchboardClientError.rpc(method: pending.method, error: error))
        }
    }

    func connectionClosed(code: UInt16?, reason: String) {
        enum Next { case reconnect, alreadyReconnecting, finish }
        let error = SwitchboardClientError.closed(code: code, reason: reason)
        let (pending, next) = state.withLock { state -> ([Pending], Next) in
            state.channel = nil
            state.lastClose = (code, reason)
            let pending = Array(state.pending.values)
            state.pending = [:]
            guard configuration.reconnect, !state.closing, state.closed == nil else { return (pending, .finish) }
            if state.reconnecting { return (pending, .alreadyReconnecting) }
            state.reconnecting = true
            return (pending, .reconnect)
        }
        for call in pending { call.continuation.resume(throwing: error) }
        switch next {
        case .reconnect:
            logger.info("connection lost, reconnecting", metadata: ["code": "\(code.map(String.init) ?? "none")"])
            background { await self.reconnect() }
        case .alreadyReconnecting:
            break
        case .finish:
            finish(with: state.withLock { $0.closing } ? nil : error)
        }
    }

    /// Runs `work` on a task the client owns: `close()` cancels it and waits for it. Nothing
    /// starts once the client is closing.
    func background(_ work: @escaping @Sendable () async -> Void) {
        state.withLock { state in
            guard !state.closing else { return }
            state.nextTask += 1
            let id = state.nextTask
            // Made under the lock: its own removal below waits until it is recorded.
            state.tasks[id] = Task {
                await work()
                _ = self.state.withLock { $0.tasks.removeValue(forKey: id) }
            }
        }
    }

    /// Ends every subscription, with `error` or normally.
    func finish(with error: SwitchboardClientError?) {
        let subscriptions = state.withLock { state in
            if state.closed == nil { state.closed = error ?? .closed(code: 1000, reason: "closed by the client") }
            defer { state.subscriptions = [:] }
            return Array(state.subscriptions.values)
        }
        for subscription in subscriptions { subscription.continuation.finish(throwing: error) }
    }

    /// Reconnects with capped exponential backoff and jitter, then subscribes again to the
    /// channel and pattern of every open subscription.
    func reconnect() async {
        var delay = Duration.milliseconds(100)
        while !state.withLock({ $0.closing }) {
            do {
                let channel = try await openConnection()
                let wanted = state.withLock { state -> Set<SubscriptionKey> in
                    state.channel = channel
                    return Set(state.subscriptions.values.compactMap { subscription in
                        subscription.channel.map { SubscriptionKey(channel: $0, pattern: EventName.pattern(subscription.event)) }
                    })
                }
                // Each history channel recovers once, from the last message seen.
                var recovering = state.withLock { $0.positions }
                for key in wanted {
                    try await subscribeAtServer(channel: key.channel, pattern: key.pattern, since: recovering.removeValue(forKey: key.channel))
                }
                state.withLock { $0.reconnecting = false }
                logger.info("reconnected", metadata: ["subscriptions": "\(wanted.count)"])
                return
            } catch {
                logger.debug("reconnect failed", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: delay * Double.random(in: 0.5...1.0))
                delay = min(delay * 2, configuration.maxReconnectDelay)
            }
        }
    }

    private struct SubscriptionKey: Hashable {
        let channel: String
        let pattern: String
    }
}

/// Writes `{"id", "method", "payload"}`.
enum RPCRequestWriter {
    static func write(id: String, method: String, payload: JSONObject, into buffer: inout ByteBuffer) {
        buffer.writeStaticString("{\"id\":")
        JSONWriter.writeString(id, into: &buffer)
        buffer.writeStaticString(",\"method\":")
        JSONWriter.writeString(method, into: &buffer)
        buffer.writeStaticString(",\"payload\":")
        JSONWriter.write(payload, into: &buffer)
        buffer.writeInteger(UInt8(ascii: "}"))
    }
}
