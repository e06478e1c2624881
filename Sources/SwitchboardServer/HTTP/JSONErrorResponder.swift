import HTTPTypes
import Hummingbird
import Switchboard

/// Wraps the node's router so that every error status it answers carries a JSON body that says
/// what went wrong and what to do: an unknown path names the paths the node serves, a body over
/// the limit names the limit. Errors that already carry a JSON body pass through unchanged.
struct JSONErrorResponder<Wrapped: HTTPResponder>: HTTPResponder where Wrapped.Context == BasicRequestContext {
    let wrapped: Wrapped
    /// The WebSocket paths, listed in a 404 beside the HTTP ones.
    let webSocketPaths: [String]
    /// The largest request body the HTTP API reads, named in a 413.
    let maxBodySize: Int
    /// The HTTP routes, listed in a 404 (`GET /healthz`, …).
    let httpRoutes: [String]

    func respond(to request: Request, context: BasicRequestContext) async throws -> Response {
        // A HEAD is answered as its GET, without the body (uptime checkers, curl -I).
        if request.method == .head {
            var head = request.head
            head.method = .get
            var response = try await respond(to: Request(head: head, body: request.body), context: context)
            response.body = .init()
            return response
        }
        // The router turns its errors (no route, a body over the limit) into bodiless responses.
        let response = try await wrapped.respond(to: request, context: context)
        guard response.status.code >= 400, response.headers[.contentType] == nil else { return response }
        var answer = answer(response.status, request: request)
        for field in response.headers where field.name != .contentLength {
            answer.headers.append(field)
        }
        return answer
    }

    private func answer(_ status: HTTPResponse.Status, request: Request) -> Response {
        switch status {
        case .notFound:
            let http = httpRoutes.map(JSONValue.string)
            return NodeRoutes.json([
                "error": [
                    "message": .string("nothing is served at \(request.method) \(request.uri.path)"),
                    "websocket": .array(webSocketPaths.map { .string($0) }),
                    "http": .array(http),
                ],
            ], status: .notFound)
        case .contentTooLarge:
            return NodeRoutes.json([
                "error": [
                    "message": .string("the request body is over the limit of \(maxBodySize) bytes (--max-message-size)"),
                    "limit": .number(JSONNumber(maxBodySize)),
                ],
            ], status: .contentTooLarge)
        default:
            return NodeRoutes.json(["error": ["message": .string(status.reasonPhrase)]], status: status)
        }
    }
}
