import Logging
public import NIOCore

/// Who is on the connection: `login`, `logout`, refreshed tokens, and the token's expiry.
extension RPCSession {
    /// Sets who is on the connection (a `login`, a `logout`, a refreshed token), and leaves the
    /// channels the new identity may not hold. Returns the channels left.
    @discardableResult
    func setIdentity(_ identity: Identity) -> [String] {
        eventLoop.preconditionInEventLoop()
        self.identity = identity
        refreshDeadline = nil
        var left: [String] = []
        var released: [String] = []
        for member in manager.channels.subscriptions(of: socketID) where !access.allows(identity, .subscribe, member.key) {
            let channel = member.key
            for pattern in (member.value.arrayValue ?? []).compactMap(\.stringValue) {
                if case .left(_, release: true) = manager.channels.leave(socketID, channel: channel, pattern: pattern) {
                    released.append(channel)
                }
            }
            left.append(channel)
        }
        if !released.isEmpty {
            // Channels left empty are released at the broker, as when a socket closes.
            let manager = self.manager
            Task {
                for channel in released { await manager.release(channel) }
            }
        }
        return left
    }

    /// One expiry pass (the transport runs it with the keepalive passes): once the token has
    /// expired the client is asked for a new one — a `refresh` call it may answer with a token
    /// (JSON-RPC, wsrpc), or a `refresh` event after which it calls `login` (`/stream`) — and
    /// given `grace`. Returns `false` when the grace has passed without a new token: the
    /// transport closes the connection with 4001 "token expired".
    public func expiryPass(now: NIODeadline = .now(), wallClock: Double, grace: TimeAmount) -> Bool {
        eventLoop.preconditionInEventLoop()
        guard !closed, identity.isExpired(now: wallClock) else {
            refreshDeadline = nil
            return true
        }
        if let deadline = refreshDeadline { return now < deadline }
        refreshDeadline = now + grace
        logger.info("token expired: asking the client for a new one", metadata: ["user": "\(identity.userID ?? "?")"])
        if codec.firstCallSerial != nil {
            let bound = NIOLoopBound(self, eventLoop: eventLoop)
            let verifier = access.verifier
            startCall("refresh", params: ["expired_at": .number(JSONNumber(identity.expiresAt ?? wallClock))], timeout: grace, from: nil)
                .whenSuccess { answer in
                    guard let token = answer.stringValue ?? answer["token"]?.stringValue, let verifier else { return }
                    Task {
                        guard let identity = try? await verifier.identity(for: token) else { return }
                        bound.value.eventLoop.execute { bound.value.setIdentity(identity) }
                    }
                }
        } else {
            sendNotification(method: "refresh", params: ["expired_at": .number(JSONNumber(identity.expiresAt ?? wallClock))])
        }
        return true
    }
}
