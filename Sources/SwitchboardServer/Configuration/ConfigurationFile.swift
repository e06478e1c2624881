import Foundation
public import Switchboard

/// The node's configuration file (`--config FILE`, docs/configuration.md): channel rules, keys, topics,
/// limits and TLS, in JSON. It is validated when read: an unknown key or a value of the wrong
/// kind is an error that names the key. Flags and environment variables override it.
///
/// ```json
/// {
///   "auth": {"mode": "required", "jwt": {"hs256_secret": "…", "public_keys": ["es256.pem"], "jwks": "keys.json"},
///            "api_keys": ["…"], "allowed_origins": ["https://app.example.com", "*.example.com"]},
///   "topics": ["news", "alerts"],
///   "channels": [{"match": "news", "subscribe": "any", "publish": "permission:editor", "history_size": 100, "history_ttl_s": 600}],
///   "limits": {"max_connections": 100000, "max_connections_per_ip": 1000, "requests_per_s": 100, "handshake_timeout_s": 10},
///   "tls": {"cert": "node.pem", "key": "node-key.pem"}
/// }
/// ```
///
/// (apple/swift-configuration's JSON provider takes only scalars and arrays of scalars, and
/// refuses `channels`, an array of objects: the file is read here, with the same precedence of
/// flags over environment over file.)
public struct ConfigurationFile: Sendable, Equatable {
    public var authMode: AccessPolicy.Mode?
    /// HS256 secrets (`auth.jwt.hs256_secret`: one string or a list).
    public var hs256Secrets: [String] = []
    /// PEM public key files, resolved against the file's folder.
    public var publicKeyFiles: [String] = []
    /// JWKS files, resolved against the file's folder.
    public var jwksFiles: [String] = []
    /// The audience tokens must name (`auth.jwt.audience`).
    public var jwtAudience: String?
    /// The issuer tokens must name (`auth.jwt.issuer`).
    public var jwtIssuer: String?
    public var apiKeys: [String] = []
    public var allowedOrigins: [String] = []
    public var topics: [String] = []
    public var channels: [ChannelRule] = []
    public var maxConnections: Int?
    public var maxConnectionsPerIP: Int?
    public var requestsPerSecond: Double?
    public var maxBatchSize: Int?
    public var maxHistoryPageBytes: Int?
    public var handshakeTimeoutSeconds: Double?
    public var tls: SecurityConfiguration.TLSFiles?
    /// The application's backend (`proxy.connect`, `proxy.rpc`, `proxy.subscribe`,
    /// `proxy.publish`; docs/proxy.md).
    public var proxy = ProxyConfiguration()

    public init() {}

    /// Every key the file takes, as a dotted path (`channels[].…` for each channel rule): the one
    /// list the reader validates against, and that docs/configuration.md documents (a test keeps
    /// the two the same).
    public static let keys: [String] = [
        "auth.mode", "auth.jwt.hs256_secret", "auth.jwt.public_keys", "auth.jwt.jwks", "auth.jwt.audience", "auth.jwt.issuer",
        "auth.api_keys", "auth.allowed_origins",
        "topics",
        "channels[].match", "channels[].subscribe", "channels[].publish", "channels[].history_size", "channels[].history_ttl_s",
        "channels[].presence", "channels[].join_leave", "channels[].state", "channels[].state_ttl_s",
        "limits.max_connections", "limits.max_connections_per_ip", "limits.requests_per_s", "limits.max_batch",
        "limits.history_page_bytes", "limits.handshake_timeout_s",
        "tls.cert", "tls.key",
    ] + ["connect", "rpc", "subscribe", "publish"].flatMap { name in
        ["url", "timeout_s", "headers", "max_concurrent", "max_answer_bytes"].map { "proxy.\(name).\($0)" } + (name == "rpc" ? ["proxy.rpc.methods"] : [])
    }

    /// The names directly under `prefix` (`""` for the top level, `"auth."`, `"channels[]."`).
    static func names(under prefix: String) -> [String] {
        var names: [String] = []
        for key in keys where key.hasPrefix(prefix) {
            let rest = key.dropFirst(prefix.count)
            let name = String(rest.prefix { $0 != "." && $0 != "[" })
            if !names.contains(name) { names.append(name) }
        }
        return names
    }

    /// A problem in the file, naming the key.
    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// Reads and validates the file at `path`.
    public init(contentsOf path: String) throws(Invalid) {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw Invalid(description: "cannot read the configuration file \(path): \(error.localizedDescription)")
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try self.init(json: text, source: path, folder: folder)
    }

    /// Reads and validates JSON text; relative file names are resolved against `folder`.
    public init(json text: String, source: String = "configuration", folder: String = ".") throws(Invalid) {
        let value: JSONValue
        do {
            value = try JSONValue(parsing: text)
        } catch {
            throw Invalid(description: "\(source): not JSON (\(error))")
        }
        let reader = KeyReader(source: source, folder: folder)
        guard case .object(let root) = value else { throw Invalid(description: "\(source): the top level must be an object") }
        try reader.only(root, at: "", Self.names(under: ""))
        if let auth = try reader.object(root, "auth", at: "") {
            try reader.only(auth, at: "auth.", Self.names(under: "auth."))
            if let mode = try reader.string(auth, "mode", at: "auth.") {
                guard let parsed = AccessPolicy.Mode(rawValue: mode) else {
                    throw reader.invalid("auth.mode", "must be off, optional or required (got \(mode))")
                }
                authMode = parsed
            }
            if let jwt = try reader.object(auth, "jwt", at: "auth.") {
                try reader.only(jwt, at: "auth.jwt.", Self.names(under: "auth.jwt."))
                jwtAudience = try reader.string(jwt, "audience", at: "auth.jwt.")
                jwtIssuer = try reader.string(jwt, "issuer", at: "auth.jwt.")
                hs256Secrets = try reader.strings(jwt, "hs256_secret", at: "auth.jwt.", allowSingle: true)
                publicKeyFiles = try reader.strings(jwt, "public_keys", at: "auth.jwt.", allowSingle: true).map(reader.resolve)
                jwksFiles = try reader.strings(jwt, "jwks", at: "auth.jwt.", allowSingle: true).map(reader.resolve)
            }
            apiKeys = try reader.strings(auth, "api_keys", at: "auth.")
            allowedOrigins = try reader.strings(auth, "allowed_origins", at: "auth.")
        }
        topics = try reader.strings(root, "topics", at: "")
        if let channels = root["channels"] {
            guard case .array(let entries) = channels else { throw reader.invalid("channels", "must be a list of channel rules") }
            self.channels = try entries.enumerated().map { (index, entry) throws(Invalid) in try reader.channelRule(entry, at: "channels[\(index)]") }
        }
        if let limits = try reader.object(root, "limits", at: "") {
            try reader.only(limits, at: "limits.", Self.names(under: "limits."))
            maxConnections = try reader.integer(limits, "max_connections", at: "limits.", minimum: 1)
            maxConnectionsPerIP = try reader.integer(limits, "max_connections_per_ip", at: "limits.", minimum: 1)
            requestsPerSecond = try reader.number(limits, "requests_per_s", at: "limits.")
            maxBatchSize = try reader.integer(limits, "max_batch", at: "limits.", minimum: 1)
            maxHistoryPageBytes = try reader.integer(limits, "history_page_bytes", at: "limits.", minimum: 1024)
            handshakeTimeoutSeconds = try reader.number(limits, "handshake_timeout_s", at: "limits.")
        }
        if let proxies = try reader.object(root, "proxy", at: "") {
            try reader.only(proxies, at: "proxy.", Self.names(under: "proxy."))
            proxy.connect = try reader.proxyEndpoint(proxies, "connect")
            proxy.rpc = try reader.proxyEndpoint(proxies, "rpc")
            proxy.subscribe = try reader.proxyEndpoint(proxies, "subscribe")
            proxy.publish = try reader.proxyEndpoint(proxies, "publish")
            // Rules that say proxy are checked once flags are applied (a flag may give the URL).
        }
        if let tls = try reader.object(root, "tls", at: "") {
            try reader.only(tls, at: "tls.", Self.names(under: "tls."))
            guard let cert = try reader.string(tls, "cert", at: "tls."), let key = try reader.string(tls, "key", at: "tls.") else {
                throw reader.invalid("tls", "needs both cert and key")
            }
            self.tls = SecurityConfiguration.TLSFiles(certificatePath: reader.resolve(cert), privateKeyPath: reader.resolve(key))
        }
    }
}

/// Reads typed values and names the key of any problem.
private struct KeyReader {
    let source: String
    let folder: String

    func invalid(_ key: String, _ problem: String) -> ConfigurationFile.Invalid {
        ConfigurationFile.Invalid(description: "\(source): \(key) \(problem)")
    }

    func resolve(_ path: String) -> String {
        path.hasPrefix("/") ? path : "\(folder)/\(path)"
    }

    func only(_ object: JSONObject, at prefix: String, _ known: [String]) throws(ConfigurationFile.Invalid) {
        for key in object.keys where !known.contains(key) {
            throw ConfigurationFile.Invalid(description: "\(source): unknown key \(prefix)\(key) (known here: \(known.joined(separator: ", ")))")
        }
    }

    func object(_ object: JSONObject, _ key: String, at prefix: String) throws(ConfigurationFile.Invalid) -> JSONObject? {
        guard let value = object[key]?.nonNull else { return nil }
        guard case .object(let inner) = value else { throw invalid(prefix + key, "must be an object") }
        return inner
    }

    func string(_ object: JSONObject, _ key: String, at prefix: String) throws(ConfigurationFile.Invalid) -> String? {
        guard let value = object[key]?.nonNull else { return nil }
        guard case .string(let text) = value, !text.isEmpty else { throw invalid(prefix + key, "must be a non-empty string") }
        return text
    }

    func strings(_ object: JSONObject, _ key: String, at prefix: String, allowSingle: Bool = false) throws(ConfigurationFile.Invalid) -> [String] {
        guard let value = object[key]?.nonNull else { return [] }
        if allowSingle, case .string(let single) = value { return [single] }
        guard case .array(let items) = value, items.allSatisfy({ ($0.stringValue ?? "").isEmpty == false }) else {
            throw invalid(prefix + key, allowSingle ? "must be a string or a list of strings" : "must be a list of strings")
        }
        return items.compactMap(\.stringValue)
    }

    func integer(_ object: JSONObject, _ key: String, at prefix: String, minimum: Int) throws(ConfigurationFile.Invalid) -> Int? {
        guard let value = object[key]?.nonNull else { return nil }
        guard let number = value.intValue, number >= minimum else { throw invalid(prefix + key, "must be an integer of at least \(minimum)") }
        return number
    }

    func number(_ object: JSONObject, _ key: String, at prefix: String) throws(ConfigurationFile.Invalid) -> Double? {
        guard let value = object[key]?.nonNull else { return nil }
        guard let number = value.doubleValue, number > 0 else { throw invalid(prefix + key, "must be a number greater than 0") }
        return number
    }

    func bool(_ object: JSONObject, _ key: String, at prefix: String) throws(ConfigurationFile.Invalid) -> Bool {
        guard let value = object[key]?.nonNull else { return false }
        guard let flag = value.boolValue else { throw invalid(prefix + key, "must be true or false") }
        return flag
    }

    func rule(_ object: JSONObject, _ key: String, at prefix: String) throws(ConfigurationFile.Invalid) -> AccessRule? {
        guard let word = try string(object, key, at: prefix) else { return nil }
        guard let rule = AccessRule(word) else {
            throw invalid(prefix + key, "must be any, login, permission:NAME, token, owner, server or proxy (got \(word))")
        }
        return rule
    }

    func proxyEndpoint(_ object: JSONObject, _ name: String) throws(ConfigurationFile.Invalid) -> ProxyConfiguration.Endpoint? {
        let prefix = "proxy.\(name)."
        guard let entry = try self.object(object, name, at: "proxy.") else { return nil }
        try only(entry, at: prefix, ConfigurationFile.names(under: prefix))
        guard let url = try string(entry, "url", at: prefix) else { throw invalid(prefix + "url", "is required") }
        var endpoint = ProxyConfiguration.Endpoint(url: url)
        if let timeout = try number(entry, "timeout_s", at: prefix) { endpoint.timeoutSeconds = timeout }
        if entry["headers"] != nil { endpoint.headers = try strings(entry, "headers", at: prefix) }
        endpoint.methods = try strings(entry, "methods", at: prefix)
        if let limit = try integer(entry, "max_concurrent", at: prefix, minimum: 1) { endpoint.maxConcurrent = limit }
        if let limit = try integer(entry, "max_answer_bytes", at: prefix, minimum: 1024) { endpoint.maxAnswerBytes = limit }
        if let problem = endpoint.problem { throw invalid("proxy.\(name)", problem) }
        return endpoint
    }

    func channelRule(_ value: JSONValue, at path: String) throws(ConfigurationFile.Invalid) -> ChannelRule {
        guard case .object(let entry) = value else { throw invalid(path, "must be an object") }
        let prefix = path + "."
        try only(entry, at: prefix, ConfigurationFile.names(under: "channels[]."))
        guard let match = try string(entry, "match", at: prefix) else { throw invalid(prefix + "match", "is required") }
        let subscribe = try rule(entry, "subscribe", at: prefix)
        let publish = try rule(entry, "publish", at: prefix)
        if subscribe == .owner || publish == .owner, !ChannelPattern(match).hasOwner {
            throw invalid(prefix + "match", "must contain {sub} for the owner rule (got \(match))")
        }
        return ChannelRule(
            match: match,
            subscribe: subscribe,
            publish: publish,
            historySize: try integer(entry, "history_size", at: prefix, minimum: 0) ?? 0,
            historyTTL: try integer(entry, "history_ttl_s", at: prefix, minimum: 1) ?? 0,
            presence: try bool(entry, "presence", at: prefix),
            joinLeave: try bool(entry, "join_leave", at: prefix),
            state: try bool(entry, "state", at: prefix),
            stateTTL: try integer(entry, "state_ttl_s", at: prefix, minimum: 1) ?? 0
        )
    }
}
