import Crypto
import Foundation
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOTLS
import NIOWebSocket
import Switchboard
import SwitchboardWebSocket

/// Decides what a connection becomes on its first request (`Handshake.decide`): a WebSocket RPC
/// socket (answers 101 and installs the frame decoder and `WebSocketConnectionHandler`), a
/// refusal answered with its status and a JSON body and closed, or plain HTTP handed to the
/// Hummingbird router. Reading stops while a token is being checked.
///
/// One deadline (the handshake timeout) runs from the TCP connection until the upgrade or the
/// refusal is written, or the connection is handed to HTTP: the TLS handshake, the request
/// headers, the end of the request and the token check all fall under it. When it passes the
/// connection is closed at once (a 408 is written first when the connection can still take it;
/// the close never waits for that write, which a TLS handshake that never finished would hold).
/// An accepted upgrade counts against the connection limits from its head on, so pending
/// handshakes cannot pass them.
final class WebSocketGate: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case waitingForHead
        /// An upgrade is accepted so far: its request must end before the pipeline changes (the
        /// HTTP decoder is still delivering it).
        case waitingForEnd(Handshake.Acceptance, HTTPRequestHead, address: String)
        case deciding
        case done
    }

    private let endpoints: [String: RPCEndpoint]
    private let node: NodeSockets
    private let security: SecurityConfiguration
    private let result: EventLoopPromise<NodeChannelResult>
    private let makeHTTP: (any Channel) throws -> NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>
    private let logger: Logger

    private var state = State.waitingForHead
    private var buffered: [NIOAny] = []
    private var readHeld = false
    private var timeout: Scheduled<Void>?
    /// With TLS: `true` once its handshake completed.
    private var secured: Bool
    /// The client address counted in the connection limits, until the socket takes it over.
    private var reservation: String?
    /// A refusal is being written: the deadline still closes the connection if that write hangs.
    private var refusing = false

    init(
        endpoints: [String: RPCEndpoint],
        node: NodeSockets,
        security: SecurityConfiguration,
        result: EventLoopPromise<NodeChannelResult>,
        logger: Logger,
        makeHTTP: @escaping (any Channel) throws -> NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>
    ) {
        self.endpoints = endpoints
        self.node = node
        self.security = security
        self.result = result
        self.logger = logger
        self.makeHTTP = makeHTTP
        self.secured = security.tls == nil
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timeout = context.eventLoop.scheduleTask(in: security.handshakeTimeout) {
            let (gate, context) = bound.value
            gate.timedOut(context: context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finish()
        result.fail(ChannelError.ioOnClosedChannel)  // no-op once the result was given
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish()
        result.fail(ChannelError.ioOnClosedChannel)
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event { secured = true }
        context.fireUserInboundEventTriggered(event)
    }

    /// The gate is done with the connection: no deadline, no count of its own.
    private func finish() {
        timeout?.cancel()
        timeout = nil
        if let address = reservation {
            reservation = nil
            node.connections.closed(from: address)
        }
    }

    /// The handshake deadline passed before an upgrade, a refusal or HTTP: the connection is
    /// closed now.
    private func timedOut(context: ChannelHandlerContext) {
        switch state {
        case .done:
            if refusing { context.close(promise: nil) }
        case .waitingForHead, .waitingForEnd, .deciding:
            let what: String = switch state {
            case .waitingForHead: secured ? "the request headers did not arrive in time" : "the TLS handshake did not finish in time"
            case .waitingForEnd: "the upgrade request did not end in time"
            default: "the upgrade could not be decided in time"
            }
            logger.info("handshake timed out: closing", metadata: ["reason": "\(what)", "remote": "\(context.remoteAddress?.description ?? "?")"])
            node.metrics.refusal(.limit)
            state = .done
            buffered = []
            if secured {
                // Best effort: the close does not wait for it.
                write(Handshake.Refusal(status: .requestTimeout, body: ["message": .string(what)]), context: context)
            }
            finish()
            context.close(promise: nil)
            result.fail(ChannelError.inputClosed)
        }
    }

    func read(context: ChannelHandlerContext) {
        switch state {
        case .deciding, .waitingForEnd: readHeld = true
        case .waitingForHead, .done: context.read()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch state {
        case .done:
            context.fireChannelRead(data)
        case .deciding:
            buffered.append(data)
        case .waitingForEnd(let acceptance, let head, let address):
            guard case .end = unwrapInboundIn(data) else { return }  // an upgrade request's body is ignored
            state = .deciding
            // On the next tick: the decoder is still inside the call that delivered `end`.
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.execute {
                let (gate, context) = bound.value
                gate.authenticate(acceptance, head: head, address: address, context: context)
            }
        case .waitingForHead:
            guard case .head(let head) = unwrapInboundIn(data) else {
                buffered.append(data)
                return
            }
            state = .deciding
            buffered.append(data)
            decide(head, context: context)
        }
    }

    private func decide(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let address = context.channel.remoteAddress?.ipAddress ?? "?"
        let compression = node.configuration.compression
        let connectProxy = node.backend?.decidesConnects ?? false
        switch Handshake.decide(head, endpoints: endpoints, security: security, compression: compression, connectProxy: connectProxy) {
        case .http:
            becomeHTTP(context: context)
        case .refuse(let refusal):
            refuse(refusal, context: context)
        case .accept(let acceptance):
            // Counted from now on, before the token is checked.
            let security = self.security
            if let refusal = node.connections.reserve(from: address, unless: { total, fromAddress in
                Handshake.limitRefusal(.init(connections: total, connectionsFromAddress: fromAddress), security: security)
            }) {
                return refuse(refusal, context: context)
            }
            reservation = address
            buffered = []
            state = .waitingForEnd(acceptance, head, address: address)
        }
    }

    /// Checks the upgrade's token (if any) and upgrades, or refuses with 401.
    private func authenticate(_ acceptance: Handshake.Acceptance, head: HTTPRequestHead, address: String, context: ChannelHandlerContext) {
        if acceptance.token == nil, let backend = node.backend, backend.decidesConnects {
            return askBackend(backend, acceptance, head: head, address: address, context: context)
        }
        guard let token = acceptance.token, security.policy.mode != .off || security.policy.verifier != nil else {
            upgrade(acceptance, head: head, identity: .anonymous, address: address, context: context)
            return
        }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let verifier = security.policy.verifier
        Task {
            let outcome: Result<Identity, TokenRejection>
            if let verifier {
                do throws(TokenRejection) {
                    outcome = .success(try await verifier.identity(for: token))
                } catch {
                    outcome = .failure(error)
                }
            } else {
                outcome = .failure(TokenRejection("this node accepts no tokens (no key is configured)"))
            }
            bound.eventLoop.execute {
                let (gate, context) = bound.value
                guard case .deciding = gate.state else { return }  // timed out meanwhile
                switch outcome {
                case .success(let identity):
                    gate.upgrade(acceptance, head: head, identity: identity, address: address, context: context)
                case .failure(let rejection):
                    gate.refuse(
                        Handshake.Refusal(
                            status: .unauthorized,
                            body: ["message": "invalid token", "reason": .string(rejection.reason)],
                            headers: [("WWW-Authenticate", "Bearer error=\"invalid_token\"")],
                            refusal: .connect
                        ),
                        context: context
                    )
                }
            }
        }
    }

    /// Asks the connect proxy who this is (docs/proxy.md), then upgrades with what it granted or
    /// refuses with its status and reason.
    private func askBackend(_ backend: HTTPBackendProxy, _ acceptance: Handshake.Acceptance, head: HTTPRequestHead, address: String, context: ChannelHandlerContext) {
        let id = node.makeSocketID()
        let headers = node.forwardedHeaders(of: head.headers)
        let socket = node.clusterName(of: id)
        let path = Handshake.split(head.uri).path
        let protocolName = acceptance.endpoint.codec.name
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        // The answer comes on this connection's loop (the request never leaves it).
        backend.connect(socket: socket, protocolName: protocolName, path: path, headers: headers, on: context.eventLoop).whenSuccess { outcome in
            let (gate, context) = bound.value
            guard case .deciding = gate.state else { return }  // timed out meanwhile
            switch outcome {
            case .success(let grant):
                let identity = grant.user == nil && grant.permissions.isEmpty
                    ? Identity.anonymous
                    : Identity(userID: grant.user, permissions: Set(grant.permissions), info: grant.info)
                gate.upgrade(acceptance, head: head, identity: identity, address: address, context: context, socketID: id, grant: grant)
            case .failure(let refusal):
                gate.refuse(
                    Handshake.Refusal(status: HTTPResponseStatus(statusCode: refusal.status), body: ["message": .string(refusal.message)], refusal: .connect),
                    context: context
                )
            }
        }
    }

    /// Answers with the refusal's status and JSON body, then closes (once written, or at the
    /// handshake deadline, which still runs).
    private func refuse(_ refusal: Handshake.Refusal, context: ChannelHandlerContext) {
        state = .done
        refusing = true
        buffered = []
        if let address = reservation {
            reservation = nil
            node.connections.closed(from: address)
        }
        if let kind = refusal.refusal { node.metrics.refusal(kind) }
        logger.info(
            "connection refused",
            metadata: ["status": "\(refusal.status.code)", "reason": "\((refusal.body["message"]?.stringValue ?? "").clippedForLog)", "remote": "\(context.remoteAddress?.description ?? "?")"]
        )
        write(refusal, context: context).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        result.fail(ChannelError.inputClosed)
    }

    /// Writes the refusal's response; the future completes once it is written.
    @discardableResult
    private func write(_ refusal: Handshake.Refusal, context: ChannelHandlerContext) -> EventLoopFuture<Void> {
        var headers = HTTPHeaders([("Content-Type", "application/json"), ("Connection", "close")])
        for (name, value) in refusal.headers { headers.add(name: name, value: value) }
        let body = JSONValue.object(refusal.body).jsonBytes
        headers.add(name: "Content-Length", value: "\(body.readableBytes)")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: refusal.status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        return context.writeAndFlush(wrapOutboundOut(.end(nil)))
    }

    /// Hands the connection to the HTTP router: the request (and what came with it) is replayed
    /// into Hummingbird's handlers.
    private func becomeHTTP(context: ChannelHandlerContext) {
        state = .done
        finish()  // Hummingbird's own idle timeout takes over
        do {
            let pipeline = context.pipeline.syncOperations
            try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false), position: .after(self))
            let codec = try pipeline.handler(type: HTTP1ToHTTPServerCodec.self)
            try pipeline.addHandler(HTTPConnectionStateHandler(idleTimeout: .seconds(60), logger: logger), position: .after(codec))
            let channel = try makeHTTP(context.channel)
            result.succeed(.http(channel))
        } catch {
            logger.error("cannot hand the connection to the HTTP router", metadata: ["error": "\(error)"])
            context.close(promise: nil)
            return
        }
        let replay = buffered
        buffered = []
        for part in replay { context.fireChannelRead(part) }
        context.fireChannelReadComplete()
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        releaseRead(context: context)
    }

    /// Answers 101 and installs the WebSocket handlers in place of the HTTP ones.
    private func upgrade(
        _ acceptance: Handshake.Acceptance, head: HTTPRequestHead, identity: Identity, address: String, context: ChannelHandlerContext,
        socketID: SocketID? = nil, grant: ProxyAnswer.Grant? = nil
    ) {
        state = .done
        buffered = []
        // The socket's handler takes over the connection's count (it uncounts it on close).
        reservation = nil
        finish()
        var headers = HTTPHeaders([("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", Self.accept(acceptance.key))])
        if let deflate = acceptance.deflate { headers.add(name: "Sec-WebSocket-Extensions", value: deflate.responseHeader) }
        if let subprotocol = acceptance.subprotocol { headers.add(name: "Sec-WebSocket-Protocol", value: subprotocol) }
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .switchingProtocols, headers: headers))), promise: nil)
        let endpoint = acceptance.endpoint
        do {
            let pipeline = context.pipeline.syncOperations
            let id = socketID ?? node.makeSocketID()
            var socketLogger = node.logger
            socketLogger[metadataKey: "socket"] = "\(node.clusterName(of: id))"
            if let user = identity.userID { socketLogger[metadataKey: "user"] = "\(user)" }
            // The handler reads the frames itself, in place (WebSocketFrameReader).
            try pipeline.addHandler(
                WebSocketConnectionHandler(
                    socketID: id, endpoint: endpoint, deflate: acceptance.deflate, identity: identity, address: address, logger: socketLogger,
                    forwardedHeaders: node.forwardedHeaders(of: head.headers), grant: grant
                ),
                position: .after(self)
            )
            pipeline.removeHandler(try pipeline.handler(type: HTTPResponseEncoder.self), promise: nil)
            pipeline.removeHandler(try pipeline.handler(type: HTTPErrorResponder.self), promise: nil)
            // Bytes that came after the request (none from a well-behaved client) go on to the
            // socket's handler through this one, which passes them on from now on.
            pipeline.removeHandler(try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self), promise: nil)
            result.succeed(.webSocket)
        } catch {
            logger.error("cannot install the WebSocket handlers", metadata: ["error": "\(error)"])
            context.close(promise: nil)
            return
        }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        releaseRead(context: context)
    }

    /// Asks for the read held while deciding (from the channel: this handler is gone by now).
    private func releaseRead(context: ChannelHandlerContext) {
        if readHeld {
            readHeld = false
            context.channel.read()
        }
    }

    /// `Sec-WebSocket-Accept`: base64 of the SHA-1 of the key and RFC 6455's GUID.
    static func accept(_ key: String) -> String {
        let digest = Insecure.SHA1.hash(data: Array((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8))
        return Data(digest).base64EncodedString()
    }
}
