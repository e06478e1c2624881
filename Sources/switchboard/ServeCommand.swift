#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Switchboard
import SwitchboardRedis
import SwitchboardServer

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run a node.",
        discussion: """
            Every option can also be set by the environment variable shown in brackets; a flag wins \
            over the environment. Without --redis the node uses the in-process broker: channels are \
            then shared by the sockets of this node only. Every setting, with its configuration-file \
            key, variable and default: docs/configuration.md.
            """
    )

    @OptionGroup(title: "Access: tokens, keys, origins, limits, TLS")
    var security: SecurityOptions

    @OptionGroup(title: "The application's backend: connect, RPC, subscribe and publish proxies (docs/proxy.md)")
    var proxy: ProxyOptions

    @Option(help: "Address to listen on [SWITCHBOARD_HOST] (default 127.0.0.1).")
    var host: String?

    @Option(help: "Port to listen on [SWITCHBOARD_PORT] (default 8080; 0 picks a free port).")
    var port: Int?

    @Option(help: "Redis URL redis://[user:password@]host:port[/db] (rediss:// for TLS), or a Redis Cluster redis+cluster://host:port,host:port,... [SWITCHBOARD_REDIS_URL]; none: in-process broker.")
    var redis: String?

    @Option(help: "For rediss:// URLs: PEM file of the certificate authority to trust [SWITCHBOARD_REDIS_CA_FILE] (default: the system's).")
    var redisCaFile: String?

    @Option(help: "For rediss:// URLs: PEM client certificate, when Redis asks for one [SWITCHBOARD_REDIS_CERT].")
    var redisCert: String?

    @Option(help: "For rediss:// URLs: PEM private key of --redis-cert [SWITCHBOARD_REDIS_KEY].")
    var redisKey: String?

    @Option(help: "Prefix of Redis channel names [SWITCHBOARD_CHANNEL_PREFIX] (default switchboard:).")
    var channelPrefix: String?

    @Option(help: "Seconds a node's presence entries outlive it on Redis (refreshed every third of it) [SWITCHBOARD_PRESENCE_TTL] (default 30).")
    var presenceTTL: Double?

    @Option(help: "Seconds any Redis command may wait for its reply; past it the command fails, the connection is closed as dead, /readyz turns 503 and the node reconnects [SWITCHBOARD_REDIS_TIMEOUT] (default 2).")
    var redisTimeout: Double?

    @Option(help: "Largest incoming message in bytes [SWITCHBOARD_MAX_MESSAGE_SIZE] (default 4194304).")
    var maxMessageSize: Int?

    @Option(help: "Outgoing bytes a socket may have waiting before it is closed as a slow consumer [SWITCHBOARD_MAX_OUTBOUND_BYTES] (default 1048576).")
    var maxOutboundBytes: Int?

    @Option(help: "Seconds between keepalive pings of idle sockets, 0 for none [SWITCHBOARD_PING_INTERVAL] (default 30).")
    var pingInterval: Int?

    @Option(help: "Per-message deflate: on or off [SWITCHBOARD_COMPRESSION] (default on).")
    var compression: String?

    @Option(help: "Seconds /readyz fails before sockets are closed on SIGTERM [SWITCHBOARD_DRAIN_PERIOD] (default 0).")
    var drainPeriod: Double?

    @Option(help: "Seconds shutdown may take in all [SWITCHBOARD_SHUTDOWN_GRACE] (default 10).")
    var shutdownGrace: Double?

    @Option(help: "This node's name in info, logs and metrics [SWITCHBOARD_NODE_ID] (default random).")
    var nodeID: String?

    @Option(help: "trace, debug, info, notice, warning, error or critical [SWITCHBOARD_LOG_LEVEL] (default info).")
    var logLevel: String?

    @Option(help: "text or json [SWITCHBOARD_LOG_FORMAT] (default text).")
    var logFormat: String?

    @Option(help: "Event-loop threads [SWITCHBOARD_THREADS] (default: one per CPU core).")
    var threads: Int?

    @Option(help: "Topics JSON-RPC clients may subscribe to, comma-separated names or globs [SWITCHBOARD_TOPICS] (default: every channel).")
    var topics: String?

    @Option(help: "Serve the demo page (a live channel view) at GET /: on or off [SWITCHBOARD_DEMO] (default on with the in-process broker, off with Redis).")
    var demo: String?

    @Option(help: "Path of the /stream protocol, or off [SWITCHBOARD_STREAM_PATH] (default /stream).")
    var streamPath: String?

    @Option(help: "Path of the JSON-RPC 2.0 protocol, or off [SWITCHBOARD_JSONRPC_PATH] (default /jsonrpc).")
    var jsonrpcPath: String?

    @Option(help: "Path of the wsrpc protocol, or off [SWITCHBOARD_WSRPC_PATH] (default /wsrpc).")
    var wsrpcPath: String?

    @Option(help: "In-process broker only: delay each delivery by this many milliseconds (for tests) [SWITCHBOARD_LOCAL_LATENCY_MS].")
    var localLatencyMs: Int?

    func run() async throws {
        raiseOpenFilesLimit()
        let level = try Environment.resolve(logLevel.map { Logger.Level(rawValue: $0) }, "SWITCHBOARD_LOG_LEVEL", .info) { Logger.Level(rawValue: $0) }
        guard let level else { throw ValidationError("--log-level must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))") }
        let format = Environment.resolve(logFormat, "SWITCHBOARD_LOG_FORMAT", "text")
        guard format == "text" || format == "json" else { throw ValidationError("--log-format must be text or json") }
        LoggingSystem.bootstrap { label in
            if format == "json" { return JSONLogHandler(label: label, level: level) }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "switchboard")

        let compressionSetting = Environment.resolve(compression, "SWITCHBOARD_COMPRESSION", "on")
        guard compressionSetting == "on" || compressionSetting == "off" else { throw ValidationError("--compression must be on or off") }
        let ping = try Environment.resolve(pingInterval, "SWITCHBOARD_PING_INTERVAL", 30) { Int($0) }
        let messageLimit = try Environment.resolve(maxMessageSize, "SWITCHBOARD_MAX_MESSAGE_SIZE", 4 * 1024 * 1024) { Int($0) }
        guard messageLimit >= 1024, messageLimit <= Int(UInt32.max) else { throw ValidationError("--max-message-size must be between 1024 and \(UInt32.max)") }
        let stream = StreamConfiguration(
            maxMessageSize: messageLimit,
            maxOutboundBytes: try Environment.resolve(maxOutboundBytes, "SWITCHBOARD_MAX_OUTBOUND_BYTES", 1024 * 1024) { Int($0) },
            pingInterval: ping > 0 ? .seconds(Int64(ping)) : nil,
            compression: compressionSetting == "on"
        )
        let paths = RPCPaths(
            stream: try Self.path(streamPath, "--stream-path", "SWITCHBOARD_STREAM_PATH", "/stream"),
            jsonRPC: try Self.path(jsonrpcPath, "--jsonrpc-path", "SWITCHBOARD_JSONRPC_PATH", "/jsonrpc"),
            wsrpc: try Self.path(wsrpcPath, "--wsrpc-path", "SWITCHBOARD_WSRPC_PATH", "/wsrpc")
        )
        guard Set(paths.all).count == paths.all.count else { throw ValidationError("the protocols' paths must differ: \(paths.all.joined(separator: ", "))") }
        let topicList = Environment.resolve(topics, "SWITCHBOARD_TOPICS", "")
            .split(separator: ",").map { String($0.filter { !$0.isWhitespace }) }.filter { !$0.isEmpty }
        let threadCount = try Environment.resolve(threads, "SWITCHBOARD_THREADS", System.coreCount) { Int($0) }
        guard threadCount >= 1, threadCount <= 256 else { throw ValidationError("--threads must be between 1 and 256") }
        let group: MultiThreadedEventLoopGroup = threadCount == System.coreCount ? .singleton : MultiThreadedEventLoopGroup(numberOfThreads: threadCount)
        let file = try security.file()
        let listenHost = Environment.resolve(host, "SWITCHBOARD_HOST", "127.0.0.1")
        let redisURL = Environment.resolve(redis, "SWITCHBOARD_REDIS_URL")
        let loopback = ["127.0.0.1", "::1", "localhost"].contains(listenHost)
        let securityConfiguration = try await security.resolve(file: file, developmentNode: loopback && redisURL == nil)
        let configuration = NodeConfiguration(
            host: listenHost,
            port: try Environment.resolve(port, "SWITCHBOARD_PORT", 8080) { Int($0) },
            stream: stream,
            paths: paths,
            topics: TopicCatalog(topicList.isEmpty ? file.topics : topicList),
            demo: try Self.onOff(demo, "--demo", "SWITCHBOARD_DEMO", default: redisURL == nil),
            security: securityConfiguration,
            drainPeriod: .milliseconds(Int64(try Environment.resolve(drainPeriod, "SWITCHBOARD_DRAIN_PERIOD", 0) { Double($0) } * 1000)),
            shutdownGracePeriod: .milliseconds(Int64(try Environment.resolve(shutdownGrace, "SWITCHBOARD_SHUTDOWN_GRACE", 10) { Double($0) } * 1000)),
            proxy: try proxy.resolve(file: file),
            eventLoopGroup: group
        )
        guard (0...65535).contains(configuration.port) else { throw ValidationError("--port must be between 0 and 65535") }

        let node = Environment.resolve(nodeID, "SWITCHBOARD_NODE_ID") ?? NodeIdentity.random()
        guard NodeIdentity.isValid(node) else {
            throw ValidationError("--node-id must be 1-128 letters, digits, '-', '_' or '.'; got \(node)")
        }
        let metrics = NodeMetrics()
        let broker: any NodeBackend
        if let url = redisURL {
            let redisURL: RedisURL
            do {
                redisURL = try RedisURL(url)
            } catch {
                throw ValidationError("\(error)")
            }
            let prefix = Environment.resolve(channelPrefix, "SWITCHBOARD_CHANNEL_PREFIX", "switchboard:")
            // On a cluster the channel is the hash tag: a brace in the prefix would make it another.
            if redisURL.cluster, prefix.contains("{") || prefix.contains("}") {
                throw ValidationError("--channel-prefix cannot contain { or } on a Redis Cluster (the channel is the hash tag: <prefix>{<channel>}); got \(prefix)")
            }
            var brokerConfiguration = RedisBroker.Configuration(
                url: redisURL,
                channelPrefix: prefix,
                nodeID: node,
                tls: try redisTLS()
            )
            let presenceSeconds = try Environment.resolve(presenceTTL, "SWITCHBOARD_PRESENCE_TTL", 30) { Double($0) }
            guard presenceSeconds >= 1, presenceSeconds <= 86_400 else { throw ValidationError("--presence-ttl must be between 1 and 86400 seconds") }
            brokerConfiguration.presenceTTL = .milliseconds(Int64(presenceSeconds * 1000))
            let timeoutSeconds = try Environment.resolve(redisTimeout, "SWITCHBOARD_REDIS_TIMEOUT", 2) { Double($0) }
            guard timeoutSeconds >= 0.05, timeoutSeconds <= 3600 else { throw ValidationError("--redis-timeout must be between 0.05 and 3600 seconds") }
            brokerConfiguration.commandTimeout = .milliseconds(Int64(timeoutSeconds * 1000))
            broker = RedisBroker(
                configuration: brokerConfiguration,
                metrics: metrics.switchboard,
                eventLoopGroup: group,
                logger: logger
            )
        } else {
            let latency = try Environment.resolve(localLatencyMs, "SWITCHBOARD_LOCAL_LATENCY_MS", 0) { Int($0) }
            broker = LocalBroker(
                configuration: .init(latency: latency > 0 ? .milliseconds(Int64(latency)) : nil, nodeID: node),
                metrics: metrics.switchboard,
                eventLoop: group.next()
            )
        }
        logger.info("memory allocator", metadata: ["allocator": "\(Allocator.description)"])
        logger.info("HTTP API", metadata: ["POST /publish, /call, /emit": "\(securityConfiguration.httpAPIOpen ? "open (auth off, no API key)" : securityConfiguration.apiKeys.isEmpty ? "closed (no API key)" : "API key required")"])
        for warning in SecurityOptions.warnings(securityConfiguration, secrets: security.secrets(file: file), exposed: !loopback) {
            logger.warning("\(warning)")
        }
        do {
            // The address first, alone: a port that is taken is the one line to say, before any
            // service starts (and then logs its shutdown). Bound, never listened on (PortCheck).
            if configuration.port != 0 {
                try PortCheck.check(host: configuration.host, port: configuration.port)
            }
            try await SwitchboardNode(configuration: configuration, broker: broker, metrics: metrics, logger: logger).run()
        } catch let error as IOError where error.errnoCode == EADDRINUSE || error.errnoCode == EACCES || error.errnoCode == EADDRNOTAVAIL {
            throw Self.cannotListen(error, address: "\(configuration.host):\(configuration.port)")
        } catch let error where error is SocketAddressError.UnknownHost || error is SocketAddressError {
            // The host did not resolve (the resolver's error), or names no address (NIO's).
            throw CommandFailure("cannot listen on \(configuration.host):\(configuration.port): no such host (check --host)", exitCode: CommandFailure.cannotListen)
        }
    }

    private static func cannotListen(_ error: IOError, address: String) -> CommandFailure {
        let reason = switch error.errnoCode {
        case EADDRINUSE: "address already in use (another node? pick another --port)"
        case EACCES: "permission denied (ports below 1024 need privileges)"
        default: "no such local address (check --host)"
        }
        return CommandFailure("cannot listen on \(address): \(reason)", exitCode: CommandFailure.cannotListen)
    }

    /// The TLS settings for a `rediss://` URL from --redis-ca-file, --redis-cert and --redis-key.
    private func redisTLS() throws -> TLSConfiguration? {
        let ca = Environment.resolve(redisCaFile, "SWITCHBOARD_REDIS_CA_FILE")
        let certificate = Environment.resolve(redisCert, "SWITCHBOARD_REDIS_CERT")
        let key = Environment.resolve(redisKey, "SWITCHBOARD_REDIS_KEY")
        guard ca != nil || certificate != nil || key != nil else { return nil }
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let ca { configuration.trustRoots = .file(ca) }
        switch (certificate, key) {
        case (let certificate?, let key?):
            do {
                configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            } catch {
                throw ValidationError("--redis-cert/--redis-key: cannot read them (\(error))")
            }
        case (nil, nil): break
        default: throw ValidationError("--redis-cert and --redis-key go together")
        }
        return configuration
    }

    /// An on/off setting from a flag or the environment.
    private static func onOff(_ flag: String?, _ name: String, _ variable: String, default fallback: Bool) throws -> Bool {
        switch Environment.resolve(flag, variable, fallback ? "on" : "off") {
        case "on", "true", "1": return true
        case "off", "false", "0": return false
        case let other: throw ValidationError("\(name) (\(variable)) must be on or off; got \(other)")
        }
    }

    /// A route path from a flag or the environment: `off` turns the protocol off.
    private static func path(_ flag: String?, _ name: String, _ variable: String, _ fallback: String) throws -> String? {
        let value = Environment.resolve(flag, variable, fallback)
        if value == "off" { return nil }
        guard value.hasPrefix("/"), !value.contains("?"), !value.contains(where: \.isWhitespace) else {
            throw ValidationError("\(name) (\(variable)) must start with / and have no spaces or query, or be off; got \(value)")
        }
        return value
    }
}
