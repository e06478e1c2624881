import NIOCore
import Synchronization

/// Calls and events to any socket of the cluster by its id (`<node-id>.<n>`), whichever node
/// holds it (docs/wsrpc.md): a socket on this node is called directly; one on another node through
/// that node's inbox (`<prefix>node:<node-id>` on Redis), which calls its client and sends the
/// answer back to this node's inbox. Calls are bounded in number and in time; a socket or node
/// that is gone answers at once, never with a hang.
///
/// Every `Hub` owns one; use it through `hub.call(socket:…)` and
/// `hub.emit(socket:…)`.
public final class SocketCalls: Sendable {
    /// Why a call did not return the client's result.
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// No such socket: unknown, closed, or its node is gone.
        case noSuchSocket(String)
        /// The client did not answer in time (or its node went away meanwhile).
        case timedOut(socket: String, method: String)
        /// The client answered with an error, or its protocol cannot be called (`/stream`).
        case client(RPCError)
        /// The call could not be carried (the broker is down, too many calls in flight).
        case unavailable(String)

        public var description: String {
            switch self {
            case .noSuchSocket(let id): "no socket \(id) is connected"
            case .timedOut(let id, let method): "socket \(id) did not answer \(method) in time"
            case .client(let error): "the client answered with an error: \(error.summary)"
            case .unavailable(let reason): reason
            }
        }
    }

    /// Most calls and events this node may have waiting for other nodes at once.
    public let maxPending: Int

    private enum Outcome: Sendable {
        case result(JSONValue)
        case failure(Failure)
    }

    private struct Waiter {
        let continuation: CheckedContinuation<Outcome, Never>
        var timer: Task<Void, Never>?
    }

    private let state = Mutex<(next: UInt64, waiting: [UInt64: Waiter])>((0, [:]))

    public init(maxPending: Int = 10_000) {
        self.maxPending = maxPending
    }

    /// Calls waiting for another node's answer.
    public var pendingCount: Int { state.withLock { $0.waiting.count } }

    // MARK: - Calling

    func call(socket: String, method: String, params: JSONValue, timeout: Duration, hub: Hub) async throws(Failure) -> JSONValue {
        guard let (node, id) = NodeIdentity.parse(socketName: socket) else { throw .noSuchSocket(socket) }
        let outcome: Outcome
        if node == hub.nodeID {
            outcome = await Self.callLocal(id, name: socket, method: method, params: params, timeout: timeout, hub: hub)
        } else {
            let message = InboxMessage.call(from: hub.nodeID, socket: socket, method: method, params: params, timeout: timeout)
            outcome = await send(message, to: node, timeout: timeout + .seconds(1), hub: hub) {
                .failure(.timedOut(socket: socket, method: method))
            }
        }
        switch outcome {
        case .result(let value): return value
        case .failure(let failure): throw failure
        }
    }

    func emit(socket: String, event: JSONObject, hub: Hub) async throws(Failure) {
        guard let (node, id) = NodeIdentity.parse(socketName: socket) else { throw .noSuchSocket(socket) }
        let outcome: Outcome
        if node == hub.nodeID {
            outcome = Self.emitLocal(id, name: socket, event: event, hub: hub)
        } else {
            outcome = await send(.emit(from: hub.nodeID, socket: socket, event: event), to: node, timeout: .seconds(5), hub: hub) {
                .failure(.unavailable("node \(node) did not confirm the event in time"))
            }
        }
        if case .failure(let failure) = outcome { throw failure }
    }

    /// Sends `message` to `node`'s inbox and waits for its answer (or `timeout`).
    private func send(
        _ message: InboxMessage,
        to node: String,
        timeout: Duration,
        hub: Hub,
        onTimeout: @escaping @Sendable () -> Outcome
    ) async -> Outcome {
        let id: UInt64? = state.withLock { state in
            guard state.waiting.count < maxPending else { return nil }
            state.next += 1
            return state.next
        }
        guard let id else { return .failure(.unavailable("too many calls to other nodes in flight (at most \(maxPending))")) }
        let text = message.encoded(id: id)
        return await withCheckedContinuation { (continuation: CheckedContinuation<Outcome, Never>) in
            state.withLock { $0.waiting[id] = Waiter(continuation: continuation) }
            let timer = Task {
                try? await Task.sleep(for: timeout)
                self.finish(id, onTimeout())
            }
            state.withLock { state in
                if state.waiting[id] != nil { state.waiting[id]?.timer = timer } else { timer.cancel() }
            }
            Task {
                do {
                    if try await hub.broker.send(toNode: node, message: text) == 0 {
                        // No node of that id listens: the socket is gone with it.
                        self.finish(id, .failure(.noSuchSocket(message.socket)))
                    }
                } catch {
                    self.finish(id, .failure(.unavailable("cannot reach node \(node): the broker is unavailable")))
                }
            }
        }
    }

    private func finish(_ id: UInt64, _ outcome: Outcome) {
        guard let waiter = state.withLock({ $0.waiting.removeValue(forKey: id) }) else { return }
        waiter.timer?.cancel()
        waiter.continuation.resume(returning: outcome)
    }

    // MARK: - This node's sockets

    private static func callLocal(
        _ id: SocketID,
        name: String,
        method: String,
        params: JSONValue,
        timeout: Duration,
        hub: Hub
    ) async -> Outcome {
        guard let socket = hub.sockets.socket(id)?.rpc else { return .failure(.noSuchSocket(name)) }
        do {
            return .result(try await socket.call(method, params: params, timeout: timeout))
        } catch let error as RPCError {
            switch error.code {
            case RPCError.Code.clientTimeout: return .failure(.timedOut(socket: name, method: method))
            case RPCError.Code.clientGone: return .failure(.noSuchSocket(name))
            default: return .failure(.client(error))
            }
        } catch {
            return .failure(.client(.internalError))
        }
    }

    private static func emitLocal(_ id: SocketID, name: String, event: JSONObject, hub: Hub) -> Outcome {
        guard let socket = hub.sockets.socket(id)?.rpc else { return .failure(.noSuchSocket(name)) }
        socket.emit(event)
        return .result(.null)
    }

    // MARK: - The inbox

    /// Handles one message from this node's inbox (the broker calls this).
    public func receive(_ text: ByteBuffer, hub: Hub) {
        guard let message = InboxMessage(text) else { return }
        switch message.kind {
        case .call(let method, let params, let timeout):
            Task {
                guard let (_, id) = NodeIdentity.parse(socketName: message.socket) else { return }
                let outcome = await Self.callLocal(id, name: message.socket, method: method, params: params, timeout: timeout, hub: hub)
                await Self.answer(message, outcome, hub: hub)
            }
        case .emit(let event):
            Task {
                guard let (_, id) = NodeIdentity.parse(socketName: message.socket) else { return }
                await Self.answer(message, Self.emitLocal(id, name: message.socket, event: event, hub: hub), hub: hub)
            }
        case .reply(.success(let value)):
            finish(message.id, .result(value))
        case .reply(.failure(let failure)):
            finish(message.id, .failure(failure))
        }
    }

    private static func answer(_ request: InboxMessage, _ outcome: Outcome, hub: Hub) async {
        let reply: InboxMessage
        switch outcome {
        case .result(let value): reply = .reply(to: request, result: value)
        case .failure(let failure): reply = .reply(to: request, failure: failure)
        }
        _ = try? await hub.broker.send(toNode: request.from, message: reply.encoded(id: request.id))
    }
}
