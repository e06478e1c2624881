import Crypto
import Foundation
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket
import Switchboard
import SwitchboardWebSocket

/// Decides what a connection becomes on its first request (`Handshake.decide`): a WebSocket RPC
/// socket (answers 101 and installs the frame decoder and `WebSocketConnectionHandler`), a
/// refusal answered with its status and a JSON body and closed, or plain HTTP handed to the
/// Hummingbird router. A client that does not finish its request headers within the handshake
/// timeout gets 408 and is closed. Reading stops while a token is being checked.
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
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timeout = context.eventLoop.scheduleTask(in: security.handshakeTimeout) {
            let (gate, context) = bound.value
            guard case .waitingForHead = gate.state else { return }
            gate.logger.debug("no request headers in time: closing", metadata: ["remote": "\(context.remoteAddress?.description ?? "?")"])
            gate.refuse(Handshake.Refusal(status: .requestTimeout, body: ["message": "the request headers did not arrive in time"]), context: context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timeout?.cancel()
        result.fail(ChannelError.ioOnClosedChannel)  // no-op once the result was given
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeout?.cancel()
        result.fail(ChannelError.ioOnClosedChannel)
        context.fireChannelInactive()
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
            timeout?.cancel()
            state = .deciding
            buffered.append(data)
            decide(head, context: context)
        }
    }

    private func decide(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let address = context.channel.remoteAddress?.ipAddress ?? "?"
        let load = Handshake.Load(connections: node.connections.openCount, connectionsFromAddress: node.connections(from: address))
        let compression = node.configuration.compression
        switch Handshake.decide(head, endpoints: endpoints, security: security, compression: compression, load: load) {
        case .http:
            becomeHTTP(context: context)
        case .refuse(let refusal):
            refuse(refusal, context: context)
        case .accept(let acceptance):
            buffered = []
            state = .waitingForEnd(acceptance, head, address: address)
        }
    }

    /// Checks the upgrade's token (if any) and upgrades, or refuses with 401.
    private func authenticate(_ acceptance: Handshake.Acceptance, head: HTTPRequestHead, address: String, context: ChannelHandlerContext) {
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

    /// Answers with the refusal's status and JSON body, then closes.
    private func refuse(_ refusal: Handshake.Refusal, context: ChannelHandlerContext) {
        state = .done
        buffered = []
        if let kind = refusal.refusal { node.metrics.refusal(kind) }
        logger.info(
            "connection refused",
            metadata: ["status": "\(refusal.status.code)", "reason": "\(refusal.body["message"]?.stringValue ?? "")", "remote": "\(context.remoteAddress?.description ?? "?")"]
        )
        var headers = HTTPHeaders([("Content-Type", "application/json"), ("Connection", "close")])
        for (name, value) in refusal.headers { headers.add(name: name, value: value) }
        let body = JSONValue.object(refusal.body).jsonBytes
        headers.add(name: "Content-Length", value: "\(body.readableBytes)")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: refusal.status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        result.fail(ChannelError.inputClosed)
    }

    /// Hands the connection to the HTTP router: the request (and what came with it) is replayed
    /// into Hummingbird's handlers.
    private func becomeHTTP(context: ChannelHandlerContext) {
        state = .done
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
    private func upgrade(_ acceptance: Handshake.Acceptance, head: HTTPRequestHead, identity: Identity, address: String, context: ChannelHandlerContext) {
        state = .done
        buffered = []
        var headers = HTTPHeaders([("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", Self.accept(acceptance.key))])
        if let deflate = acceptance.deflate { headers.add(name: "Sec-WebSocket-Extensions", value: deflate.responseHeader) }
        if let subprotocol = acceptance.subprotocol { headers.add(name: "Sec-WebSocket-Protocol", value: subprotocol) }
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .switchingProtocols, headers: headers))), promise: nil)
        let endpoint = acceptance.endpoint
        do {
            let pipeline = context.pipeline.syncOperations
            let id = node.makeSocketID()
            var socketLogger = node.logger
            socketLogger[metadataKey: "socket"] = "\(node.clusterName(of: id))"
            if let user = identity.userID { socketLogger[metadataKey: "user"] = "\(user)" }
            try pipeline.addHandler(ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: node.configuration.maxMessageSize)), position: .after(self))
            let decoder = try pipeline.handler(type: ByteToMessageHandler<WebSocketFrameDecoder>.self)
            try pipeline.addHandler(
                WebSocketConnectionHandler(socketID: id, endpoint: endpoint, deflate: acceptance.deflate, identity: identity, address: address, logger: socketLogger),
                position: .after(decoder)
            )
            pipeline.removeHandler(try pipeline.handler(type: HTTPResponseEncoder.self), promise: nil)
            pipeline.removeHandler(try pipeline.handler(type: HTTPErrorResponder.self), promise: nil)
            // Bytes that came after the request (none from a well-behaved client) go on to the
            // frame decoder through this handler, which passes them on from now on.
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
