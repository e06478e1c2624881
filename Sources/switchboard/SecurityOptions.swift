import ArgumentParser
import Foundation
import NIOCore
import Switchboard
import SwitchboardServer

/// `serve`'s options for who may do what: authentication, keys, origins, limits, TLS, and the
/// configuration file. Each takes its flag, else its environment variable, else the file.
struct SecurityOptions: ParsableArguments {
    @Option(help: "Configuration file (JSON: auth, topics, channels, limits, tls; every key in docs/configuration.md) [SWITCHBOARD_CONFIG].")
    var config: String?

    @Option(help: "off, optional or required [SWITCHBOARD_AUTH] (default off on loopback without Redis, else optional).")
    var auth: String?

    @Option(help: "HS256 secret for tokens, repeatable for rotation [SWITCHBOARD_JWT_SECRET].")
    var jwtSecret: [String] = []

    @Option(help: "PEM public key file for tokens (RS256, ES256, ES384, EdDSA), repeatable [SWITCHBOARD_JWT_PUBLIC_KEY, comma-separated].")
    var jwtPublicKey: [String] = []

    @Option(help: "JWKS file for tokens [SWITCHBOARD_JWKS].")
    var jwks: String?

    @Option(help: "Audience tokens must name in aud [SWITCHBOARD_JWT_AUDIENCE] (default: not checked).")
    var jwtAudience: String?

    @Option(help: "Issuer tokens must name in iss [SWITCHBOARD_JWT_ISSUER] (default: not checked).")
    var jwtIssuer: String?

    @Option(help: "API key of the HTTP API (POST /publish, /call, /emit), repeatable [SWITCHBOARD_API_KEYS, comma-separated].")
    var apiKey: [String] = []

    @Option(help: "Origins browser pages may connect from, comma-separated: exact, *.example.com, or * [SWITCHBOARD_ALLOWED_ORIGINS] (default any).")
    var allowedOrigins: String?

    @Option(help: "Most WebSocket connections on this node [SWITCHBOARD_MAX_CONNECTIONS] (default no limit).")
    var maxConnections: Int?

    @Option(help: "Most WebSocket connections from one IP address [SWITCHBOARD_MAX_CONNECTIONS_PER_IP] (default no limit).")
    var maxConnectionsPerIp: Int?

    @Option(help: "Requests per second one socket may make on average [SWITCHBOARD_REQUESTS_PER_S] (default no limit).")
    var requestsPerS: Double?

    @Option(help: "Most requests in one JSON-RPC batch [SWITCHBOARD_MAX_BATCH] (default 100).")
    var maxBatch: Int?

    @Option(help: "Most bytes of message data in one history page [SWITCHBOARD_HISTORY_PAGE_BYTES] (default 1048576).")
    var historyPageBytes: Int?

    @Option(help: "Seconds a client has from connecting to a finished WebSocket upgrade (TLS, headers, token) [SWITCHBOARD_HANDSHAKE_TIMEOUT] (default 10).")
    var handshakeTimeout: Double?

    @Option(help: "PEM certificate (chain) for wss:// and https:// [SWITCHBOARD_TLS_CERT]; reloaded on SIGHUP.")
    var tlsCert: String?

    @Option(help: "PEM private key of --tls-cert [SWITCHBOARD_TLS_KEY].")
    var tlsKey: String?

    /// The configuration file, if one is named.
    func file() throws -> ConfigurationFile {
        guard let path = Environment.resolve(config, "SWITCHBOARD_CONFIG") else { return ConfigurationFile() }
        do {
            return try ConfigurationFile(contentsOf: path)
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// Warnings about the resolved settings, for the log at start (`exposed`: the node listens
    /// beyond loopback).
    static func warnings(_ security: SecurityConfiguration, secrets: [String], exposed: Bool = false) -> [String] {
        var warnings: [String] = []
        if security.httpAPIOpen, exposed {
            warnings.append("authentication is off and no API key is configured: anyone who reaches this node can POST /publish, /call and /emit (give --api-key KEY)")
        }
        if JWTVerifier.hasWeakSecret(secrets) { warnings.append("an HS256 secret is shorter than 32 bytes: use a longer one") }
        if security.apiKeys.isEmpty, !security.httpAPIOpen {
            warnings.append("no API key is configured: the HTTP API (POST /publish, /call, /emit) is closed and answers 401; give one with --api-key KEY (SWITCHBOARD_API_KEYS), or --auth off on a private network")
        }
        if security.policy.mode == .optional, security.policy.verifier == nil {
            warnings.append("--auth optional without a key (--jwt-secret, --jwt-public-key, --jwks): no token can be valid, so channels without a rule are open to anonymous connections, as with --auth off")
        }
        return warnings
    }

    /// The HS256 secrets given (for `warnings`).
    func secrets(file: ConfigurationFile) -> [String] {
        jwtSecret.isEmpty ? (Environment.resolve(nil, "SWITCHBOARD_JWT_SECRET").map { [$0] } ?? file.hs256Secrets) : jwtSecret
    }

    /// Everything resolved; `open` is whether the node is a loopback development node (bound to
    /// loopback, no Redis), where authentication is off by default.
    func resolve(file: ConfigurationFile, developmentNode open: Bool) async throws -> SecurityConfiguration {
        let modeWord = Environment.resolve(auth, "SWITCHBOARD_AUTH") ?? file.authMode?.rawValue ?? (open ? "off" : "optional")
        guard let mode = AccessPolicy.Mode(rawValue: modeWord) else {
            throw ValidationError("--auth must be off, optional or required (got \(modeWord))")
        }
        let secrets = secrets(file: file)
        let keyFiles = jwtPublicKey.isEmpty ? (Self.list(Environment.resolve(nil, "SWITCHBOARD_JWT_PUBLIC_KEY")) ?? file.publicKeyFiles) : jwtPublicKey
        let jwksFiles = Environment.resolve(jwks, "SWITCHBOARD_JWKS").map { [$0] } ?? file.jwksFiles
        var verifier: JWTVerifier? = nil
        if !secrets.isEmpty || !keyFiles.isEmpty || !jwksFiles.isEmpty {
            do {
                verifier = try await JWTVerifier.load(
                    hs256Secrets: secrets,
                    publicKeysPEM: try keyFiles.map { (name: $0, pem: try Self.read($0, what: "--jwt-public-key")) },
                    jwks: try jwksFiles.map { (name: $0, json: try Self.read($0, what: "--jwks")) },
                    audience: Environment.resolve(jwtAudience, "SWITCHBOARD_JWT_AUDIENCE") ?? file.jwtAudience,
                    issuer: Environment.resolve(jwtIssuer, "SWITCHBOARD_JWT_ISSUER") ?? file.jwtIssuer
                )
            } catch let error as ValidationError {
                throw error
            } catch {
                throw ValidationError("\(error)")
            }
        } else if mode == .required {
            throw ValidationError("--auth required needs a key to check tokens with: --jwt-secret, --jwt-public-key or --jwks (or auth.jwt in --config)")
        }
        let apiKeys = apiKey.isEmpty ? (Self.list(Environment.resolve(nil, "SWITCHBOARD_API_KEYS")) ?? file.apiKeys) : apiKey
        let origins = Self.list(Environment.resolve(allowedOrigins, "SWITCHBOARD_ALLOWED_ORIGINS")) ?? file.allowedOrigins
        let certificate = Environment.resolve(tlsCert, "SWITCHBOARD_TLS_CERT")
        let key = Environment.resolve(tlsKey, "SWITCHBOARD_TLS_KEY")
        let tls: SecurityConfiguration.TLSFiles?
        switch (certificate, key) {
        case (let certificate?, let key?): tls = .init(certificatePath: certificate, privateKeyPath: key)
        case (nil, nil): tls = file.tls
        default: throw ValidationError("--tls-cert and --tls-key go together")
        }
        let handshake = try Environment.resolve(handshakeTimeout, "SWITCHBOARD_HANDSHAKE_TIMEOUT", file.handshakeTimeoutSeconds ?? 10) { Double($0) }
        guard handshake > 0 else { throw ValidationError("--handshake-timeout must be greater than 0") }
        return SecurityConfiguration(
            policy: AccessPolicy(mode: mode, channels: file.channels, verifier: verifier),
            apiKeys: apiKeys,
            allowedOrigins: origins,
            maxConnections: try Self.value(maxConnections, "SWITCHBOARD_MAX_CONNECTIONS", file.maxConnections),
            maxConnectionsPerIP: try Self.value(maxConnectionsPerIp, "SWITCHBOARD_MAX_CONNECTIONS_PER_IP", file.maxConnectionsPerIP),
            requestsPerSecond: try Self.value(requestsPerS, "SWITCHBOARD_REQUESTS_PER_S", file.requestsPerSecond),
            maxBatchSize: try batchLimit(file: file),
            maxHistoryPageBytes: try historyPageLimit(file: file),
            handshakeTimeout: .milliseconds(Int64(handshake * 1000)),
            tls: tls
        )
    }

    private func batchLimit(file: ConfigurationFile) throws -> Int {
        let limit = try Self.value(maxBatch, "SWITCHBOARD_MAX_BATCH", file.maxBatchSize) ?? 100
        guard (1...10_000).contains(limit) else { throw ValidationError("--max-batch must be between 1 and 10000 (got \(limit))") }
        return limit
    }

    private func historyPageLimit(file: ConfigurationFile) throws -> Int {
        let limit = try Self.value(historyPageBytes, "SWITCHBOARD_HISTORY_PAGE_BYTES", file.maxHistoryPageBytes) ?? 1 << 20
        guard limit >= 1024 else { throw ValidationError("--history-page-bytes must be at least 1024 (got \(limit))") }
        return limit
    }

    /// The flag, else the environment variable (which must parse), else the file's value.
    private static func value<T: LosslessStringConvertible>(_ flag: T?, _ variable: String, _ file: T?) throws -> T? {
        if let flag { return flag }
        if let raw = Environment.value(variable) {
            guard let parsed = T(raw) else { throw ValidationError("\(variable)=\(raw) is not a valid value") }
            return parsed
        }
        return file
    }

    /// A comma-separated list (`nil` when the value is absent).
    private static func list(_ value: String?) -> [String]? {
        value.map { $0.split(separator: ",").map { String($0.filter { !$0.isWhitespace }) }.filter { !$0.isEmpty } }
    }

    private static func read(_ path: String, what: String) throws -> String {
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ValidationError("\(what) \(path): cannot read the file (\(error.localizedDescription))")
        }
    }
}
