import CoreMetrics
import Prometheus
import HTTPTypes
import Hummingbird
import NIOCore
import Switchboard

/// The node's plain HTTP routes: `GET` on a WebSocket route without an upgrade, `/healthz`,
/// `/readyz`, `/metrics` and `POST /publish`.
struct NodeRoutes {
    let node: SwitchboardNode

    func makeRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        for path in node.configuration.paths.all {
            router.get(RouterPath(path)) { _, _ in
                Self.json(["message": "Unable to open websocket connection"], status: .badRequest)
            }
        }
        router.get("/healthz") { _, _ in
            Self.json(["status": "ok"])
        }
        router.get("/readyz") { [node] _, _ in
            let body: JSONValue = [
                "ready": .bool(node.isReady),
                "broker": .string(node.manager.brokerName),
                "broker_ready": .bool(node.manager.isReady),
                "draining": .bool(node.isDraining),
            ]
            return Self.json(body, status: node.isReady ? .ok : .serviceUnavailable)
        }
        router.get("/metrics") { [node] _, _ in
            let counts = node.manager.channels.counts
            node.metrics.switchboard.channels.record(counts.channels)
            node.metrics.switchboard.subscriptions.record(counts.subscriptions)
            node.metrics.switchboard.brokerConnected.record(node.manager.isReady ? 1 : 0)
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: node.metrics.registry.emitToBuffer()))
            )
        }
        router.post("/publish") { [node] request, _ in
            try await Self.publish(request, node: node)
        }
        return router
    }

    /// `POST /publish` with `{"channel", "event"?, "data"}`: for backends that publish over HTTP.
    /// Answers like the `publish` RPC: the response object, or `{"error": {...}}`.
    private static func publish(_ request: Request, node: SwitchboardNode) async throws -> Response {
        let body = try await request.body.collect(upTo: node.configuration.stream.maxMessageSize)
        let payload: JSONObject
        switch body.withUnsafeReadableBytes({ bytes in Result { try JSONParser.parse(bytes) } }) {
        case .success(.object(let object)): payload = object
        case .success(let other): return error(.notAnObject(other), status: .badRequest)
        case .failure: return error(.notJSON, status: .badRequest)
        }
        let publish: PublishRequest
        do {
            publish = try PublishRequest(payload)
        } catch {
            return Self.error(error, status: .badRequest)
        }
        let loop = node.configuration.eventLoopGroup.any()
        do {
            try await node.manager.publish(channel: publish.channel, event: publish.event, data: publish.data, on: loop).get()
        } catch let failure as BrokerError {
            return error(RPCError(failure), status: node.manager.isReady ? .badRequest : .serviceUnavailable)
        }
        return json(publish.response)
    }

    private static func error(_ error: RPCError, status: HTTPResponse.Status) -> Response {
        json(["error": .object(error.json)], status: status)
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: value.jsonBytes)
        )
    }
}
