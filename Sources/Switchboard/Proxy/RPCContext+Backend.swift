import NIOCore
import Logging

/// The subscribe and publish proxies (docs/proxy.md), as methods ask them.
extension RPCContext {
    /// On a channel whose rule says `proxy`, asks the application's backend whether `action`
    /// may go ahead (after `authorize`). Returns the data to publish instead when the backend
    /// rewrote it; `nil` when it did not, or the channel's rule does not ask the backend.
    /// Throws the backend's refusal, or why it could not answer.
    public func askBackend(_ action: AccessPolicy.Action, _ channel: String, data: JSONValue? = nil) async throws(RPCError) -> JSONValue? {
        guard access.asksBackend(action, channel) else { return nil }
        guard let backend = access.backend else {
            throw RPCError.backendUnavailable(proxy: action.rawValue, reason: "the channel's rule says proxy, but no \(action.rawValue) proxy is configured")
        }
        do {
            return try await backend.check(ProxyChannelRequest(action: action, channel: channel, data: data, caller: proxyCaller), on: eventLoop).get()
        } catch {
            let error = error as? RPCError ?? RPCError.backendUnavailable(proxy: action.rawValue, reason: "\(error)")
            if error.fromBackend {
                hub.metrics.refusal(action == .subscribe ? .subscribe : .publish)
                logger.info("refused by the backend", metadata: ["action": "\(action.rawValue)", "channel": "\(channel.clippedForLog)", "reason": "\(error.message.clippedForLog)"])
            }
            throw error
        }
    }
}
