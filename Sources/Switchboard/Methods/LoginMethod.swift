import NIOCore

/// `login {token}` → the connection's new identity `{"user", "authenticated", "permissions",
/// "expires_at"?}`: re-authenticates a live connection (aiohttp-json-rpc's login flow; also how a
/// `/stream` client answers a `refresh` event). The methods and topics the connection sees change
/// with it; channels it may no longer hold are left. A bad token is refused and changes nothing.
struct LoginMethod: RPCMethod {
    var parameterNames: [String] { ["token"] }

    func call(payload: JSONObject, context: RPCContext) -> EventLoopFuture<JSONValue> {
        var reader = PayloadReader(payload)
        let token = reader.requiredString("token")
        do {
            try reader.check()
        } catch {
            return context.eventLoop.makeFailedFuture(error)
        }
        return context.eventLoop.makeFutureWithTask {
            guard let verifier = context.access.verifier else {
                throw RPCError(code: RPCError.Code.authenticationFailed, message: "this node accepts no tokens (no key is configured)")
            }
            let identity: Identity
            do throws(TokenRejection) {
                identity = try await verifier.identity(for: token)
            } catch {
                context.hub.metrics.refusal(.connect)
                throw RPCError(code: RPCError.Code.authenticationFailed, message: "invalid token: \(error.reason)")
            }
            try await context.socket.setIdentity(identity)
            return .object(identity.summary)
        }
    }
}

/// `logout` → `{"user": null, "authenticated": false}`: the connection goes on anonymous (when
/// the node requires tokens, only what anonymous connections may do is left).
struct LogoutMethod: RPCMethod {
    func call(payload: JSONObject, context: RPCContext) -> EventLoopFuture<JSONValue> {
        context.eventLoop.makeFutureWithTask {
            try await context.socket.setIdentity(.anonymous)
            return .object(Identity.anonymous.summary)
        }
    }
}
