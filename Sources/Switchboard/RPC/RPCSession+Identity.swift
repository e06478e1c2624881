import Logging
public import NIOCore

/// Who is on the connection: `login`, `logout`, refreshed tokens, and the token's expiry.
extension RPCSession {
    /// Sets who is on the connection (a `login`, a `logout`, a refreshed token); it leaves the
    /// channels the new identity may not hold, and their presence (`Hub.reauthorize`). Returns
    /// the channels left.
    @discardableResult
    func setIdentity(_ identity: Identity) -> [String] {
        eventLoop.preconditionInEventLoop()
        self.identity = identity
        refreshDeadline = nil
        return hub.reauthorize(socketID, as: identity, access: access, on: eventLoop)
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
                .flatMap { answer -> EventLoopFuture<Identity> in
                    guard let token = answer.stringValue ?? answer["token"]?.stringValue, let verifier else {
                        return bound.value.eventLoop.makeFailedFuture(TokenRejection("no token in the answer"))
                    }
                    return bound.value.eventLoop.makeFutureWithTask { try await verifier.identity(for: token) }
                }
                .whenSuccess { identity in bound.value.setIdentity(identity) }
        } else {
            sendNotification(method: "refresh", params: ["expired_at": .number(JSONNumber(identity.expiresAt ?? wallClock))])
        }
        return true
    }
}
