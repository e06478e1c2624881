import AsyncHTTPClient
public import Logging
public import NIOCore
public import Switchboard

/// The node's `BackendProxy`: posts connects, RPC calls, subscribes and publishes to the
/// application's HTTP endpoints (docs/proxy.md) over one async-http-client pool of keep-alive
/// connections, and reads their answers. Shut it down (`shutdown()`) when the node stops.
public final class HTTPBackendProxy: BackendProxy {
    /// The endpoints it posts to.
    public let configuration: ProxyConfiguration
    private let client: HTTPClient
    private let connectBackend: HTTPBackend?
    private let rpcBackend: HTTPBackend?
    private let subscribeBackend: HTTPBackend?
    private let publishBackend: HTTPBackend?
    private let methodPatterns: [GlobPattern]

    public init(configuration: ProxyConfiguration, eventLoopGroup: any EventLoopGroup, metrics: SwitchboardMetrics, logger: Logger) {
        self.configuration = configuration
        var settings = HTTPClient.Configuration()
        let longest = configuration.endpoints.map(\.endpoint.timeoutSeconds).max() ?? ProxyConfiguration.defaultTimeoutSeconds
        let timeout = TimeAmount.nanoseconds(Int64(longest * 1_000_000_000))
        settings.timeout = HTTPClient.Configuration.Timeout(connect: timeout, read: timeout)
        settings.redirectConfiguration = .disallow
        settings.decompression = .disabled
        let connections = configuration.endpoints.map(\.endpoint.maxConcurrent).max() ?? 8
        settings.connectionPool = HTTPClient.Configuration.ConnectionPool(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connections)
        let client = HTTPClient(eventLoopGroupProvider: .shared(eventLoopGroup), configuration: settings, backgroundActivityLogger: logger)
        self.client = client
        let backend = { (name: String, endpoint: ProxyConfiguration.Endpoint?) -> HTTPBackend? in
            endpoint.map { HTTPBackend(name: name, endpoint: $0, client: client, metrics: metrics, logger: logger) }
        }
        connectBackend = backend("connect", configuration.connect)
        rpcBackend = backend("rpc", configuration.rpc)
        subscribeBackend = backend("subscribe", configuration.subscribe)
        publishBackend = backend("publish", configuration.publish)
        methodPatterns = (configuration.rpc?.methods ?? []).map(GlobPattern.init)
    }

    /// Closes the connection pool.
    public func shutdown() async {
        try? await client.shutdown()
    }

    /// `true` when an RPC proxy is configured and its `methods` globs (if any) take `method`.
    public func forwards(method: String) -> Bool {
        guard rpcBackend != nil else { return false }
        return methodPatterns.isEmpty || methodPatterns.contains { $0.matches(method) }
    }

    public func call(_ request: ProxyCallRequest, on eventLoop: any EventLoop) -> EventLoopFuture<JSONValue> {
        guard let rpcBackend else { return eventLoop.makeFailedFuture(RPCError.unknownMethod(request.method)) }
        return rpcBackend.post(request.body, headers: request.caller.headers, on: eventLoop).flatMapResult { answer in
            let outcome = ProxyAnswer.read(answer, proxy: "rpc")
            if case .failure(let error) = outcome, error.fromBackend { rpcBackend.countRefusal() }
            return outcome
        }
    }

    public func check(_ request: ProxyChannelRequest, on eventLoop: any EventLoop) -> EventLoopFuture<JSONValue?> {
        let name = request.action.rawValue
        guard let backend = request.action == .subscribe ? subscribeBackend : publishBackend else {
            return eventLoop.makeFailedFuture(RPCError.backendUnavailable(proxy: name, reason: "no \(name) proxy is configured"))
        }
        return backend.post(request.body, headers: request.caller.headers, on: eventLoop).flatMapResult { answer in
            let outcome = ProxyAnswer.readChannel(answer, proxy: name)
            if case .failure(let error) = outcome, error.fromBackend { backend.countRefusal() }
            return outcome
        }
    }

    /// `true` when a connect proxy is configured.
    public var decidesConnects: Bool { connectBackend != nil }

    /// Asks the connect proxy who is on a new connection: `{"socket", "protocol", "path"}` and
    /// the forwarded upgrade headers. The grant, or the status and reason to refuse with (502
    /// when the backend could not answer).
    public func connect(
        socket: String, protocolName: String, path: String, headers: [HTTPHeaderField], on eventLoop: any EventLoop
    ) -> EventLoopFuture<Result<ProxyAnswer.Grant, ProxyAnswer.ConnectRefusal>> {
        guard let connectBackend else { return eventLoop.makeSucceededFuture(.failure(.init(status: 500, message: "no connect proxy is configured"))) }
        let body: JSONObject = ["socket": .string(socket), "protocol": .string(protocolName), "path": .string(path)]
        return connectBackend.post(body, headers: headers, on: eventLoop).map { answer in
            let grant = ProxyAnswer.readConnect(answer)
            if case .failure(let refusal) = grant, refusal.status != 502 { connectBackend.countRefusal() }
            return grant
        }.recover { error in
            .failure(.init(status: 502, message: (error as? RPCError)?.message ?? "backend unavailable (connect proxy): \(error)"))
        }
    }
}
