import Logging
import NIOCore
import Switchboard

extension WebSocketConnectionHandler {
    /// What the connect proxy granted (docs/proxy.md): subscribes the socket to its channels
    /// (server-side subscriptions, which no channel rule is asked about), then sends the client
    /// a `connect` event `{"user", "channels", "data"}`, once those subscriptions are active.
    func applyGrant(_ grant: ProxyAnswer.Grant, eventLoop: any EventLoop) {
        guard let session else { return }
        let subscriber = Hub.Subscriber(id: socketID, socket: session.socket, identity: identity, eventLoop: eventLoop, logger: logger)
        let hub = endpoint.hub
        let logger = self.logger
        let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
        let user = identity.userID
        eventLoop.makeFutureWithTask { () async -> [String] in
            var subscribed: [String] = []
            for channel in grant.channels {
                do {
                    _ = try await hub.subscribe(subscriber, channel: channel)
                    subscribed.append(channel)
                } catch {
                    logger.warning("server-side subscription failed", metadata: ["channel": "\(channel.clippedForLog)", "error": "\(error)"])
                }
            }
            return subscribed
        }.whenSuccess { subscribed in
            let params: JSONValue = [
                "user": user.map(JSONValue.string) ?? .null,
                "channels": .array(subscribed.map(JSONValue.string)),
                "data": grant.data ?? .null,
            ]
            loopBound.value.session?.sendNotification(method: "connect", params: params)
        }
    }
}
