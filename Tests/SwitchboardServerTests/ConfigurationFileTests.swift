import Switchboard
import SwitchboardServer
import Testing

@Suite("Configuration file")
struct ConfigurationFileTests {
    @Test("The configuration example reads into rules, keys, topics and limits; file names resolve against its folder")
    func example() throws {
        let file = try ConfigurationFile(json: """
            {
              "auth": {"mode": "required", "jwt": {"hs256_secret": "s3cret", "public_keys": ["es256.pem"], "jwks": "keys.json"},
                       "api_keys": ["k1"], "allowed_origins": ["https://app.example.com", "*.example.com"]},
              "topics": ["news", "alerts"],
              "channels": [
                {"match": "news",      "subscribe": "any",   "publish": "permission:editor", "history_size": 100, "history_ttl_s": 600},
                {"match": "user:{sub}", "subscribe": "owner", "publish": "server"},
                {"match": "private:*", "subscribe": "token", "publish": "token", "presence": true, "join_leave": true}
              ],
              "limits": {"max_connections": 100000, "max_connections_per_ip": 1000, "requests_per_s": 100, "handshake_timeout_s": 10},
              "tls": {"cert": "/etc/node.pem", "key": "node-key.pem"}
            }
            """, folder: "/etc/switchboard")
        #expect(file.authMode == .required)
        #expect(file.hs256Secrets == ["s3cret"])
        #expect(file.publicKeyFiles == ["/etc/switchboard/es256.pem"])
        #expect(file.jwksFiles == ["/etc/switchboard/keys.json"])
        #expect(file.apiKeys == ["k1"])
        #expect(file.topics == ["news", "alerts"])
        #expect(file.channels == [
            ChannelRule(match: "news", subscribe: .any, publish: .permission("editor"), historySize: 100, historyTTL: 600),
            ChannelRule(match: "user:{sub}", subscribe: .owner, publish: .server),
            ChannelRule(match: "private:*", subscribe: .token, publish: .token, presence: true, joinLeave: true),
        ])
        #expect(file.maxConnectionsPerIP == 1000)
        #expect(file.requestsPerSecond == 100)
        #expect(file.tls == .init(certificatePath: "/etc/node.pem", privateKeyPath: "/etc/switchboard/node-key.pem"))
    }

    @Test("the proxy section reads each backend endpoint, with defaults for what it leaves out")
    func proxy() throws {
        let file = try ConfigurationFile(json: """
            {"proxy": {"connect": {"url": "http://app:8000/connect", "headers": ["Cookie"]},
                       "rpc": {"url": "http://app:8000/rpc", "timeout_s": 2.5, "methods": ["app.*"], "max_concurrent": 8, "max_answer_bytes": 4096}},
             "channels": [{"match": "room:*", "subscribe": "proxy"}]}
            """)
        #expect(file.proxy.connect == ProxyConfiguration.Endpoint(url: "http://app:8000/connect", headers: ["Cookie"]))
        #expect(file.proxy.rpc == ProxyConfiguration.Endpoint(url: "http://app:8000/rpc", timeoutSeconds: 2.5, methods: ["app.*"], maxConcurrent: 8, maxAnswerBytes: 4096))
        #expect(file.proxy.subscribe == nil)
        #expect(file.channels.first?.subscribe == .proxy)
        #expect(file.proxy.problem(rules: file.channels)?.contains("says subscribe: proxy, but no subscribe proxy is configured") == true)
    }

    @Test("errors name the key")
    func errors() {
        let cases: [(String, String)] = [
            (#"{"auth": {"mdoe": "off"}}"#, "unknown key auth.mdoe"),
            (#"{"auth": {"mode": "sometimes"}}"#, "auth.mode must be off, optional or required (got sometimes)"),
            (#"{"channels": [{"match": "a", "subscribe": "everyone"}]}"#, "channels[0].subscribe must be any, login, permission:NAME, token, owner, server or proxy (got everyone)"),
            (#"{"channels": [{"subscribe": "any"}]}"#, "channels[0].match is required"),
            (#"{"channels": [{"match": "user:*", "subscribe": "owner"}]}"#, "channels[0].match must contain {sub} for the owner rule"),
            (#"{"limits": {"max_connections": 0}}"#, "limits.max_connections must be an integer of at least 1"),
            (#"{"topics": "news"}"#, "topics must be a list of strings"),
            (#"{"tls": {"cert": "a.pem"}}"#, "tls needs both cert and key"),
            (#"{"proxy": {"rpc": {"url": "ftp://app/rpc"}}}"#, "proxy.rpc must be an http:// or https:// URL (got ftp://app/rpc)"),
            (#"{"proxy": {"rpc": {"timeout_s": 2}}}"#, "proxy.rpc.url is required"),
            (#"{"proxy": {"rpc": {"url": "http://app/rpc", "methods": ["\#(String(repeating: "a*", count: 17))"]}}}"#, "too many wildcards"),
            (#"{"proxy": {"connect": {"url": "http://app/c", "methods": ["x"]}}}"#, "unknown key proxy.connect.methods"),
            (#"{"proxy": {"sub": {"url": "http://app/s"}}}"#, "unknown key proxy.sub"),
            ("[]", "the top level must be an object"),
            ("{", "not JSON"),
        ]
        for (json, expected) in cases {
            do {
                _ = try ConfigurationFile(json: json, source: "node.json")
                Issue.record("accepted \(json)")
            } catch {
                #expect(error.description.contains(expected), "\(error.description)")
                #expect(error.description.hasPrefix("node.json: "))
            }
        }
    }
}
