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
/// async-http-client keep-alive pool). Every failure is an `RPCError` that says why
/// ("backend unavailable"), counted in `/metrics`.
final class HTTPBackend: Sendable {
    let name: String
    let endpoint: ProxyConfiguration.Endpoint
    private let client: HTTPClient
    private let metrics: ProxyMetrics
    private let logger: Logger
    private let inFlight = Atomic<Int>(0)
    private let forwarded: Set<String>

    init(name: String, endpoint: ProxyConfiguration.Endpoint, client: HTTPClient, metrics: SwitchboardMetrics, logger: Logger) {
        self.name = name
        self.endpoint = endpoint
        self.client = client
        self.metrics = ProxyMetrics(proxy: name, factory: metrics.factory)
        self.logger = logger
        self.forwarded = Set(endpoint.headers.map { $0.lowercased() })
    }

    /// Posts `body` with the forwarded `headers` and returns the answer's JSON.
    func post(_ body: JSONObject, headers: [HTTPHeaderField]) async throws(RPCError) -> JSONValue {
        guard inFlight.add(1, ordering: .relaxed).newValue <= endpoint.maxConcurrent else {
            inFlight.subtract(1, ordering: .relaxed)
            metrics.error(.overloaded)
            throw unavailable("too many requests at once (at most \(endpoint.maxConcurrent) in flight)", kind: .overloaded)
        }
        defer { inFlight.subtract(1, ordering: .relaxed) }
        metrics.requests.increment()
        let started = ContinuousClock.now
        defer {
            let elapsed = ContinuousClock.now - started
            metrics.duration.recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        }
        var request = HTTPClientRequest(url: endpoint.url)
        request.method = .POST
        for header in headers where forwarded.contains(header.name.lowercased()) {
            request.headers.add(name: header.name, value: header.value)
        }
        request.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        request.headers.replaceOrAdd(name: "Accept", value: "application/json")
        request.body = .bytes(JSONValue.object(body).jsonBytes)
        let timeout = TimeAmount.nanoseconds(Int64(endpoint.timeoutSeconds * 1_000_000_000))
        let prepared = request
        // async-http-client retries a connection that fails until its deadline: a little
        // before ours, so that a backend that is down is reported as what it is.
        let clientDeadline = TimeAmount.nanoseconds(timeout.nanoseconds * 9 / 10)
        let outcome = await withDeadline(timeout) { [client, endpoint] () async throws -> (HTTPResponseStatus, ByteBuffer) in
            let response = try await client.execute(prepared, timeout: clientDeadline)
            let bytes = try await response.body.collect(upTo: endpoint.maxAnswerBytes)
            return (response.status, bytes)
        }
        let status: HTTPResponseStatus
        let bytes: ByteBuffer
        switch outcome {
        case .success(let answer):
            (status, bytes) = answer
        case .failure(let error):
            throw failure(error)
        }
        guard (200..<300).contains(status.code) else {
            let snippet = String(buffer: bytes).prefix(120)
            throw unavailable("the backend answered HTTP \(status.code) \(status.reasonPhrase)\(snippet.isEmpty ? "" : ": \(snippet)")", kind: .invalid)
        }
        do {
            return try JSONValue(parsing: String(buffer: bytes))
        } catch {
            throw unavailable("the backend's answer is not JSON (\(String(buffer: bytes).prefix(60).debugDescription))", kind: .invalid)
        }
    }

    /// The error for a failed exchange: the timeout, a refused connection, an answer too large.
    private func failure(_ error: any Error) -> RPCError {
        switch error {
        case is DeadlinePassed:
            return unavailable("no answer within \(Self.seconds(endpoint.timeoutSeconds)) s", kind: .timeout)
        case let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout:
            return unavailable("no answer within \(Self.seconds(endpoint.timeoutSeconds)) s", kind: .timeout)
        case is NIOTooManyBytesError:
            return unavailable("the answer is larger than \(endpoint.maxAnswerBytes) bytes", kind: .invalid)
        default:
            return unavailable("cannot reach \(endpoint.url) (\(error))", kind: .unreachable)
        }
    }

    private func unavailable(_ reason: String, kind: ProxyMetrics.ErrorKind) -> RPCError {
        if kind != .overloaded { metrics.error(kind) }
        logger.warning("backend unavailable", metadata: ["proxy": "\(name)", "reason": "\(reason)"])
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

/// The deadline of `withDeadline` passed.
struct DeadlinePassed: Error {}

/// Runs `work`, giving up (and cancelling it) once `timeout` has passed.
func withDeadline<T: Sendable>(_ timeout: TimeAmount, _ work: @escaping @Sendable () async throws -> T) async -> Result<T, any Error> {
    await withTaskGroup(of: Result<T, any Error>.self) { group in
        group.addTask {
            do { return .success(try await work()) } catch { return .failure(error) }
        }
        group.addTask {
            try? await Task.sleep(for: .nanoseconds(timeout.nanoseconds))
            return .failure(DeadlinePassed())
        }
        let first = await group.next() ?? .failure(DeadlinePassed())
        group.cancelAll()
        return first
    }
}
