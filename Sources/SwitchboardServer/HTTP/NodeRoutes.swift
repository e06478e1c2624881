import CoreMetrics
import Prometheus
import HTTPTypes
import Hummingbird
import NIOCore
import Switchboard

/// The node's plain HTTP routes: `GET` on a WebSocket route without an upgrade, `/healthz`,
/// `/readyz`, `/metrics`, `GET /info` (every channel of the node, with the API key), `POST
/// /publish`, and `POST /call` and `POST /emit` to reach one socket on whichever node holds it.
struct NodeRoutes {
    let node: SwitchboardNode

    /// The HTTP routes a node serves, as a 404 lists them.
    static func routes(demo: Bool) -> [String] {
        (demo ? ["GET /"] : []) + [
            "GET /healthz", "GET /readyz", "GET /metrics", "GET /info",
            "GET /switchboard.js", "GET /switchboard.global.js", "GET /switchboard.d.ts",
            "POST /publish", "POST /call", "POST /emit",
        ]
    }

    func makeRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        // A plain GET of a WebSocket route: `/stream` answers as aio-openapi does (400), `/jsonrpc`
        // and `/wsrpc` as aiohttp does for their libraries (405).
        let paths = node.configuration.paths
        for path in paths.all {
            let stream = path == paths.stream
            router.get(RouterPath(path)) { _, _ in
                stream
                    ? Self.json(["message": "Unable to open websocket connection"], status: .badRequest)
                    : Self.json(["message": .string("\(path) is a WebSocket endpoint: connect with a WebSocket client")], status: .methodNotAllowed)
            }
        }
        Self.addStaticFiles(to: router, demo: node.configuration.demo)
        // Browsers ask for it with every page: no icon, and no 404 in the log.
        router.get("/favicon.ico") { _, _ in Response(status: .noContent) }
        router.get("/healthz") { _, _ in
            Self.json(["status": "ok"])
        }
        router.get("/readyz") { [node] _, _ in
            var body: JSONObject = [
                "ready": .bool(node.isReady),
                "broker": .string(node.hub.brokerName),
                "broker_ready": .bool(node.hub.isReady),
                "draining": .bool(node.isDraining),
                "auth": .string(node.configuration.security.policy.mode.rawValue),
            ]
            // Redis: each shard link's address and state (one for a single Redis), so a node
            // that is not ready says which shard it waits for.
            if case .array(let shards)? = node.hub.brokerInfo["shards"] {
                body["broker_shards"] = .array(shards.map { shard in
                    .object(["address": shard["address"] ?? .null, "connected": shard["connected"] ?? .null])
                })
            }
            return Self.json(.object(body), status: node.isReady ? .ok : .serviceUnavailable)
        }
        router.get("/metrics") { [node] _, _ in
            let counts = node.hub.channels.counts
            node.metrics.switchboard.channels.record(counts.channels)
            node.metrics.switchboard.subscriptions.record(counts.subscriptions)
            node.metrics.switchboard.brokerConnected.record(node.hub.isReady ? 1 : 0)
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: node.metrics.exposition(node: node.hub.nodeID, broker: node.hub.brokerName, version: SwitchboardVersion.current))
            )
        }
        router.get("/info") { [node] request, _ in
            try Self.checkAPIKey(request, node: node)
            return Self.json(.object(node.hub.serverInfo()))
        }
        router.post("/publish") { [node] request, _ in
            try Self.checkAPIKey(request, node: node)
            return try await Self.publish(request, node: node)
        }
        router.post("/call") { [node] request, _ in
            try Self.checkAPIKey(request, node: node)
            return try await Self.call(request, node: node)
        }
        router.post("/emit") { [node] request, _ in
            try Self.checkAPIKey(request, node: node)
            return try await Self.emit(request, node: node)
        }
        return router
    }

    /// The browser module (`/switchboard.js`, its classic build `/switchboard.global.js`, its types
    /// `/switchboard.d.ts`) and, when enabled, the demo page at `/`.
    private static func addStaticFiles(to router: Router<BasicRequestContext>, demo: Bool) {
        let files: [(String, String, String)] = [
            ("/switchboard.js", EmbeddedFiles.switchboardModule, "text/javascript; charset=utf-8"),
            ("/switchboard.global.js", EmbeddedFiles.switchboardClassic, "text/javascript; charset=utf-8"),
            ("/switchboard.d.ts", EmbeddedFiles.switchboardTypes, "application/typescript; charset=utf-8"),
        ] + (demo ? [("/", EmbeddedFiles.demoPage, "text/html; charset=utf-8")] : [])
        for (path, text, type) in files {
            let body = ByteBuffer(string: text)
            router.get(RouterPath(path)) { _, _ in
                Response(
                    status: .ok,
                    headers: [.contentType: type, .cacheControl: "no-cache", .accessControlAllowOrigin: "*"],
                    body: .init(byteBuffer: body)
                )
            }
        }
    }

    /// The server API (`/publish`, `/call`, `/emit`) is for backends, never for browser pages: a
    /// request from a page (an `Origin` header, or `Sec-Fetch-Site: cross-site`) is refused unless
    /// its origin is listed in the allowed origins, so a cross-site form post cannot reach it. It
    /// takes an API key (`Authorization: apikey <key>`, `Authorization: Bearer <key>` or
    /// `X-API-Key: <key>`) when keys are configured, is open without one only when
    /// authentication is off, and is closed otherwise.
    private static func checkAPIKey(_ request: Request, node: SwitchboardNode) throws(JSONErrorResponse) {
        let security = node.configuration.security
        let origin = request.headers[.origin]
        let crossSite = request.headers[HTTPField.Name("Sec-Fetch-Site")!] == "cross-site"
        if origin != nil || crossSite {
            let listed = origin.map { origin in security.allowedOrigins.contains { $0 != "*" } && security.allows(origin: origin) } ?? false
            guard listed else {
                node.metrics.switchboard.refusal(.origin)
                throw JSONErrorResponse(
                    RPCError(message: "the HTTP API does not take requests from web pages (Origin \((origin ?? "cross-site").clippedForLog)); call it from your backend"),
                    status: .forbidden
                )
            }
        }
        if security.httpAPIOpen { return }
        guard !security.apiKeys.isEmpty else {
            node.metrics.switchboard.refusal(.apiKey)
            throw JSONErrorResponse(
                RPCError(message: "the HTTP API is closed: this node has no API key (start it with --api-key KEY or SWITCHBOARD_API_KEYS, or --auth off on a private network)"),
                status: .unauthorized
            )
        }
        guard security.acceptsAPIKey(authorization: request.headers[.authorization], xAPIKey: request.headers[HTTPField.Name("X-API-Key")!]) else {
            node.metrics.switchboard.refusal(.apiKey)
            throw JSONErrorResponse(
                RPCError(message: "a valid API key is required: send Authorization: apikey <key> (or Bearer <key>, or X-API-Key: <key>)"),
                status: .unauthorized
            )
        }
    }

    /// Reads the request's JSON object; throws the 400 to answer when the body is none.
    private static func object(of request: Request, node: SwitchboardNode) async throws -> JSONObject {
        let body = try await request.body.collect(upTo: node.configuration.stream.maxMessageSize)
        switch body.withUnsafeReadableBytes({ bytes in Result { try JSONParser.parse(bytes) } }) {
        case .success(.object(let object)): return object
        case .success(let other): throw JSONErrorResponse(.notAnObject(other), status: .badRequest)
        case .failure: throw JSONErrorResponse(.notJSON, status: .badRequest)
        }
    }

    /// `POST /call {"socket", "method", "params"?, "timeout_ms"?}`: calls a method of the client of
    /// one socket, on any node. 200 `{"result"}`; 404 unknown or gone socket; 504 no answer in
    /// time; 502 the client answered with an error (`{"error": {"code", "message", "data"?}}`);
    /// 400 a bad request or a socket whose protocol has no calls (`/stream`); 503 no broker.
    private static func call(_ request: Request, node: SwitchboardNode) async throws -> Response {
        let payload = try await object(of: request, node: node)
        var reader = PayloadReader(payload)
        let socket = reader.requiredString("socket")
        let method = reader.requiredString("method")
        let timeout = reader.optionalInteger("timeout_ms", in: 1...600_000) ?? 10_000
        try reader.check(status: .badRequest)
        do {
            let result = try await node.hub.call(socket: socket, method: method, params: payload["params"] ?? .object([:]), timeout: .milliseconds(timeout))
            return json(["result": result])
        } catch {
            return failure(error)
        }
    }

    /// `POST /emit {"socket", "event"}`: sends an event object to the client of one socket, on any
    /// node. 200 `{"emitted": true}`; 404 unknown or gone socket.
    private static func emit(_ request: Request, node: SwitchboardNode) async throws -> Response {
        let payload = try await object(of: request, node: node)
        var reader = PayloadReader(payload)
        let socket = reader.requiredString("socket")
        let event = reader.required("event") { $0.objectValue != nil }
        try reader.check(status: .badRequest)
        do {
            try await node.hub.emit(socket: socket, event: event.objectValue ?? JSONObject())
            return json(["emitted": true])
        } catch {
            return failure(error)
        }
    }

    private static func failure(_ failure: SocketCalls.Failure) -> Response {
        switch failure {
        case .noSuchSocket:
            return json(["error": ["message": .string(failure.description)]], status: .notFound)
        case .timedOut:
            return json(["error": ["message": .string(failure.description)]], status: .gatewayTimeout)
        case .unavailable:
            return json(["error": ["message": .string(failure.description)]], status: .serviceUnavailable)
        case .client(let error):
            var object: JSONObject = ["code": .number(JSONNumber(error.code)), "message": .string(error.summary)]
            if let data = error.data { object["data"] = data }
            let status: HTTPResponse.Status = error.code == RPCError.Code.clientCannotBeCalled ? .badRequest : .badGateway
            return json(["error": .object(object)], status: status)
        }
    }

    /// `POST /publish` with `{"channel", "event"?, "data"}`: for backends that publish over HTTP.
    /// Answers like the `publish` RPC: the response object, or `{"error": {...}}`.
    private static func publish(_ request: Request, node: SwitchboardNode) async throws -> Response {
        let payload = try await object(of: request, node: node)
        let publish: PublishRequest
        do {
            publish = try PublishRequest(payload)
        } catch {
            return Self.error(error, status: .badRequest)
        }
        let loop = node.configuration.eventLoopGroup.any()
        let position: StreamPosition?
        do {
            position = try await node.hub.publish(channel: publish.channel, event: publish.event, data: publish.data, on: loop).get()
        } catch let failure as BrokerError {
            let reason = ChannelName.problem(publish.channel)
                ?? (node.hub.isReady ? "this node does not accept the channel" : "the node's broker (\(node.hub.brokerName)) is unavailable; GET /readyz says when it is back")
            return error(.channelRefused(failure, reason: reason), status: node.hub.isReady ? .badRequest : .serviceUnavailable)
        }
        return json(publish.response(at: position))
    }

    private static func error(_ error: RPCError, status: HTTPResponse.Status) -> Response {
        var object = error.json
        if let reason = error.reason { object["reason"] = .string(reason) }
        return json(["error": .object(object)], status: status)
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: value.jsonBytes)
        )
    }
}

/// An error answered with `{"error": {…}}` and a status: thrown from a route.
struct JSONErrorResponse: HTTPResponseError {
    let status: HTTPResponse.Status
    let error: RPCError

    init(_ error: RPCError, status: HTTPResponse.Status) {
        self.error = error
        self.status = status
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        NodeRoutes.json(["error": .object(error.json)], status: status)
    }
}

extension PayloadReader {
    /// Throws the `status` answer with every problem, if there is any.
    func check(status: HTTPResponse.Status) throws(JSONErrorResponse) {
        guard problems.isEmpty else { throw JSONErrorResponse(.invalidParameters(problems), status: status) }
    }
}

