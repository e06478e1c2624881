import AsyncHTTPClient
import CoreMetrics
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Switchboard
import Synchronization

/// Posts JSON to one of the backend's endpoints and reads its JSON answer, within the
/// endpoint's timeout, size bound and bound on requests in flight (over an
/// async-http-client keep-alive pool). The request and its answer stay on the caller's event
/// loop (no task, no thread hop). Every failure is an `RPCError` that says why ("backend
/// unavailable"), counted in `/metrics`.
final class HTTPBackend: Sendable {
    let name: String
    let endpoint: ProxyConfiguration.Endpoint
    private let client: HTTPClient
    private let metrics: ProxyMetrics
    private let logger: Logger
    private let inFlight = Atomic<Int>(0)
    private let forwarded: Set<String>
    private let timeout: TimeAmount
    /// The endpoint's URL, parsed once (`nil` when it does not parse: every request then fails
    /// saying so; the configuration refuses such URLs first).
    private let url: URL?
    /// When the last "backend unavailable" warning was logged (uptime nanoseconds), and how many
    /// failures since were not: a backend that is down under load is logged about every 10 s,
    /// not once per request.
    private let lastWarning = Atomic<UInt64>(0)
    private let unlogged = Atomic<Int>(0)

    init(name: String, endpoint: ProxyConfiguration.Endpoint, client: HTTPClient, metrics: SwitchboardMetrics, logger: Logger) {
        self.name = name
        self.endpoint = endpoint
        self.client = client
        self.metrics = ProxyMetrics(proxy: name, factory: metrics.factory)
        self.logger = logger
        self.forwarded = Set(endpoint.headers.map { $0.lowercased() })
        self.timeout = .nanoseconds(Int64(endpoint.timeoutSeconds * 1_000_000_000))
        self.url = URL(string: endpoint.url)
    }

    /// Posts `body` with the forwarded `headers`; the answer's JSON, on `eventLoop`.
    func post(_ body: JSONObject, headers: [HTTPHeaderField], on eventLoop: any EventLoop) -> EventLoopFuture<JSONValue> {
        guard inFlight.add(1, ordering: .relaxed).newValue <= endpoint.maxConcurrent else {
            inFlight.subtract(1, ordering: .relaxed)
            return eventLoop.makeFailedFuture(unavailable("too many requests at once (at most \(endpoint.maxConcurrent) in flight)", kind: .overloaded))
        }
        metrics.requests.increment()
        let started = NIODeadline.now()
        var fields = HTTPHeaders()
        for header in headers where forwarded.contains(header.name.lowercased()) {
            fields.add(name: header.name, value: header.value)
        }
        fields.replaceOrAdd(name: "Content-Type", value: "application/json")
        fields.replaceOrAdd(name: "Accept", value: "application/json")
        let request: HTTPClient.Request
        do {
            guard let url else { throw HTTPClientError.invalidURL }
            request = try HTTPClient.Request(url: url, method: .POST, headers: fields, body: .byteBuffer(JSONValue.object(body).jsonBytes))
        } catch {
            inFlight.subtract(1, ordering: .relaxed)
            return eventLoop.makeFailedFuture(unavailable("the URL \(endpoint.url) cannot be used (\(error))", kind: .unreachable))
        }
        // The deadline covers the whole exchange; a connection that fails is retried until it.
        let answer = client.execute(
            request: request,
            delegate: ResponseAccumulator(request: request, maxBodySize: endpoint.maxAnswerBytes),
            eventLoop: .delegateAndChannel(on: eventLoop),
            deadline: started + timeout
        ).futureResult
        let promise = eventLoop.makePromise(of: JSONValue.self)
        answer.hop(to: eventLoop).whenComplete { [self] result in
            inFlight.subtract(1, ordering: .relaxed)
            metrics.duration.recordNanoseconds((NIODeadline.now() - started).nanoseconds)
            switch result {
            case .success(let response):
                do { promise.succeed(try read(response)) } catch { promise.fail(error) }
            case .failure(let error):
                promise.fail(failure(error))
            }
        }
        return promise.futureResult
    }

    /// The answer's JSON, if it is a 2xx answer with a JSON body.
    private func read(_ response: HTTPClient.Response) throws(RPCError) -> JSONValue {
        let bytes = response.body ?? ByteBuffer()
        guard (200..<300).contains(response.status.code) else {
            let snippet = String(buffer: bytes).prefix(120)
            throw unavailable("the backend answered HTTP \(response.status.code) \(response.status.reasonPhrase)\(snippet.isEmpty ? "" : ": \(snippet)")", kind: .invalid)
        }
        do {
            return try bytes.withUnsafeReadableBytes { try JSONParser.parse($0) }
        } catch {
            throw unavailable("the backend's answer is not JSON (\(String(buffer: bytes).prefix(60).debugDescription))", kind: .invalid)
        }
    }

    /// The error for a failed exchange: the timeout, a refused connection, an answer too large.
    private func failure(_ error: any Error) -> RPCError {
        switch error {
        case let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout:
            return unavailable("no answer within \(Self.seconds(endpoint.timeoutSeconds)) s", kind: .timeout)
        case is ResponseAccumulator.ResponseTooBigError:
            return unavailable("the answer is larger than \(endpoint.maxAnswerBytes) bytes", kind: .invalid)
        default:
            return unavailable("cannot reach \(endpoint.url) (\(error))", kind: .unreachable)
        }
    }

    private func unavailable(_ reason: String, kind: ProxyMetrics.ErrorKind) -> RPCError {
        metrics.error(kind)
        let now = NIODeadline.now().uptimeNanoseconds
        let last = lastWarning.load(ordering: .relaxed)
        if last == 0 || now - last >= 10_000_000_000,
           lastWarning.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged
        {
            let since = unlogged.exchange(0, ordering: .relaxed)
            var metadata: Logger.Metadata = ["proxy": "\(name)", "reason": "\(reason)"]
            if since > 0 { metadata["failures_not_logged"] = "\(since)" }
            logger.warning("backend unavailable", metadata: metadata)
        } else {
            unlogged.add(1, ordering: .relaxed)
        }
        return RPCError.backendUnavailable(proxy: name, reason: reason)
    }

    /// Counts an answer that refused (a backend `error`).
    func countRefusal() {
        metrics.error(.refused)
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value))" : "\(value)"
    }
}
