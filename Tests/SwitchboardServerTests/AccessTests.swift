import Foundation
import NIOCore
import Switchboard
import SwitchboardServer
import SwitchboardTesting
import Testing

/// Who may do what, with real signed tokens, over every protocol and the HTTP API.
@Suite("Access: tokens, rules, keys, origins, limits")
struct AccessTests {
    static let secret = "a-test-secret-of-thirty-two-bytes!"

    static func node(
        mode: AccessPolicy.Mode = .required,
        channels: [ChannelRule] = [],
        methods: RPCRouter = RPCRouter(),
        publicKeys: [String] = [],
        topics: [String] = [],
        pingInterval: TimeAmount? = .seconds(30),
        refreshGrace: TimeAmount = .seconds(10),
        adjust: (inout SecurityConfiguration) -> Void = { _ in }
    ) async throws -> TestNode {
        let verifier = try await JWTVerifier.load(hs256Secrets: [secret], publicKeysPEM: publicKeys.map { (name: "test", pem: $0) })
        var security = SecurityConfiguration(policy: AccessPolicy(mode: mode, channels: channels, verifier: verifier), apiKeys: ["the-api-key"])
        adjust(&security)
        return try await TestNode.start(
            methods: methods,
            configuration: NodeConfiguration(
                port: 0,
                stream: StreamConfiguration(pingInterval: pingInterval, refreshGrace: refreshGrace),
                topics: TopicCatalog(topics),
                security: security
            )
        )
    }

    static func token(_ sub: String = "ann", permissions: [String]? = nil, channels: [String]? = nil, publish: [String]? = nil, expiresIn: Double = 3600) async throws -> String {
        try await TestTokens.hs256(secret: secret, sub: sub, permissions: permissions, channels: channels, publish: publish, expiresIn: expiresIn)
    }

    /// The status and JSON body of an upgrade request to `path` on `node`.
    static func upgrade(_ node: TestNode, _ path: String = "/stream", headers: [String: String] = [:]) async throws -> (Int, JSONValue?) {
        var all = ["Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="]
        all.merge(headers) { _, new in new }
        let response = try await HTTPProbe.request("GET", path, port: node.port, headers: all)
        return (response.status, try? JSONValue(parsing: response.body))
    }

    @Test("--auth required: no token, a bad or an expired one get 401 with the reason; HS256 and ES256 tokens connect, by query, header or subprotocol")
    func tokens() async throws {
        let es256 = try TestTokens.ES256()
        let node = try await Self.node(publicKeys: [es256.publicKeyPEM])
        let (missing, missingBody) = try await Self.upgrade(node)
        #expect(missing == 401)
        #expect(missingBody?["message"] == "a token is required")
        let forged = try await TestTokens.hs256(secret: "another-secret-of-thirty-two-bytes")
        let (bad, badBody) = try await Self.upgrade(node, "/stream?token=\(forged)")
        #expect(bad == 401)
        #expect(badBody?["reason"] == "bad signature (no configured key verifies it)")
        let (expired, expiredBody) = try await Self.upgrade(node, "/stream?token=\(try await Self.token(expiresIn: -10))")
        #expect(expired == 401)
        #expect(expiredBody?["reason"] == "token expired")
        let (garbage, garbageBody) = try await Self.upgrade(node, headers: ["Authorization": "Bearer not.a.token"])
        #expect(garbage == 401)
        #expect(garbageBody?["reason"] == "malformed token")

        let token = try await Self.token("ann", permissions: ["editor"])
        for socket in [
            try await RawWebSocket.connect("\(node.url)?token=\(token)"),
            try await RawWebSocket.connect(node.url, headers: [("Authorization", "Bearer \(token)")]),
            try await RawWebSocket.connect(node.url, headers: [("Sec-WebSocket-Protocol", "switchboard, \(token)")]),
            try await RawWebSocket.connect(node.jsonRPCURL, headers: [("Authorization", "Bearer \(try await es256.token(sub: "bob"))")]),
        ] {
            let session = try await socket.call(["id": "s", "method": "session", "jsonrpc": "2.0"])
            #expect(session["response"]?["socket"] != nil || session["result"]?["socket"] != nil, "\(session)")
            await socket.close()
        }
        await node.stop()
    }

    @Test("channel rules on every protocol: news (anyone reads, editors publish), user:{sub} (its owner), private:* (the token's claim)")
    func channelRules() async throws {
        let rules = [
            ChannelRule(match: "news", subscribe: .any, publish: .permission("editor")),
            ChannelRule(match: "user:{sub}", subscribe: .owner, publish: .server),
            ChannelRule(match: "private:*", subscribe: .token, publish: .token),
        ]
        let node = try await Self.node(mode: .optional, channels: rules)
        let anonymous = try await RawWebSocket.connect(node.url)
        #expect(try await anonymous.call(["id": "1", "method": "subscribe", "payload": ["channel": "news"]])["response"] != nil)
        let refused = try await anonymous.call(["id": "2", "method": "publish", "payload": ["channel": "news", "data": "x"]])
        #expect(refused["error"]?["errors"]?["channel"] == "Permission denied: this connection may not publish here")
        #expect(try await anonymous.call(["id": "3", "method": "subscribe", "payload": ["channel": "elsewhere"]])["error"] != nil)

        let editor = try await RawWebSocket.connect("\(node.url)?token=\(try await Self.token("ed", permissions: ["editor"]))")
        #expect(try await editor.call(["id": "1", "method": "publish", "payload": ["channel": "news", "data": "headline"]])["response"] != nil)
        #expect(try await anonymous.nextJSON() == ["channel": "news", "event": "", "data": "headline"])

        let ann = try await RawWebSocket.connect("\(node.url)?token=\(try await Self.token("ann", channels: ["private:ann-*"]))")
        #expect(try await ann.call(["id": "1", "method": "subscribe", "payload": ["channel": "user:ann"]])["response"] != nil)
        #expect(try await ann.call(["id": "2", "method": "subscribe", "payload": ["channel": "user:bob"]])["error"] != nil)
        #expect(try await ann.call(["id": "3", "method": "publish", "payload": ["channel": "user:ann", "data": "me"]])["error"] != nil)
        #expect(try await ann.call(["id": "4", "method": "subscribe", "payload": ["channel": "private:ann-1"]])["response"] != nil)
        #expect(try await ann.call(["id": "5", "method": "subscribe", "payload": ["channel": "private:other"]])["error"] != nil)
        // The server side (the HTTP API with its key) may publish where sockets may not.
        let published = try await HTTPProbe.request("POST", "/publish", port: node.port, body: #"{"channel":"user:ann","data":"from the server"}"#, headers: ["Authorization": "apikey the-api-key"])
        #expect(published.status == 200)
        #expect(try await ann.nextJSON()["data"] == "from the server")

        // JSON-RPC: topics it may not subscribe to are left out; a refused publish is -32010.
        let rpc = try await RawWebSocket.connect(node.jsonRPCURL)
        #expect(try await rpc.call(["jsonrpc": "2.0", "id": 1, "method": "subscribe", "params": ["news", "user:ann", "private:x"]])["result"] == ["news"])
        let rpcRefused = try await rpc.call(["jsonrpc": "2.0", "id": 2, "method": "publish", "params": ["news", "x"]])
        #expect(rpcRefused["error"]?["code"] == -32010)
        // wsrpc: the same refusal, as an error object.
        let wsrpc = try await RawWebSocket.connect(node.wsrpcURL)
        _ = try await wsrpc.nextJSON()  // the keepalive ping
        let wsRefused = try await wsrpc.call(["id": 3, "method": "subscribe", "params": ["channel": "user:ann"]])
        #expect(wsRefused["error"]?["message"]?.stringValue?.contains("Permission denied") == true)
        let metrics = try await HTTPProbe.request("GET", "/metrics", port: node.port).body
        #expect(metrics.contains(#"switchboard_access_refusals_total{kind="publish"} 3"#))
        for socket in [anonymous, editor, ann, rpc, wsrpc] { await socket.close() }
        await node.stop()
    }

    @Test("methods a connection may not call are hidden from get_methods and answer as unknown; login and logout change them")
    func methodsAndLogin() async throws {
        var methods = RPCRouter()
        methods.register("whoami", requires: .login) { (_: JSONObject, context: RPCContext) async throws -> JSONValue in
            .string(context.identity.userID ?? "?")
        }
        methods.register("purge", requires: .permission("admin")) { (_: JSONObject, _: RPCContext) async throws -> JSONValue in true }
        let node = try await Self.node(mode: .optional, methods: methods, topics: ["news"])
        let rpc = try await RawWebSocket.connect(node.jsonRPCURL)
        func methodNames() async throws -> [JSONValue] {
            try #require(try await rpc.call(["jsonrpc": "2.0", "id": 1, "method": "get_methods"])["result"]?.arrayValue)
        }
        #expect(!(try await methodNames()).contains("whoami"))
        #expect(try await rpc.call(["jsonrpc": "2.0", "id": 2, "method": "whoami"])["error"]?["code"] == -32601)
        let login = try await rpc.call(["jsonrpc": "2.0", "id": 3, "method": "login", "params": ["token": .string(try await Self.token("ann"))]])
        #expect(login["result"]?["user"] == "ann")
        #expect(try await methodNames().contains("whoami"))
        #expect(!(try await methodNames()).contains("purge"))
        #expect(try await rpc.call(["jsonrpc": "2.0", "id": 4, "method": "whoami"])["result"] == "ann")
        #expect(try await rpc.call(["jsonrpc": "2.0", "id": 41, "method": "whoami"])["result"] == "ann")
        let badLogin = try await rpc.call(["jsonrpc": "2.0", "id": 5, "method": "login", "params": ["nope"]])
        #expect(badLogin["error"]?["code"] == -32011)
        #expect(try await rpc.call(["jsonrpc": "2.0", "id": 6, "method": "logout"])["result"]?["authenticated"] == false)
        #expect(!(try await methodNames()).contains("whoami"))
        // Asked again and again after logout, it stays hidden (each call checks the identity).
        #expect(try await rpc.call(["jsonrpc": "2.0", "id": 7, "method": "whoami"])["error"]?["code"] == -32601)
        #expect(try await rpc.call(["jsonrpc": "2.0", "id": 8, "method": "whoami"])["error"]?["code"] == -32601)
        await rpc.close()
        await node.stop()
    }

    @Test("a token that expires: the client is asked for a new one, and closed with 4001 if none comes; login in time keeps it")
    func expiry() async throws {
        // Passes every two seconds (a loaded machine must still answer the keepalive in time).
        let node = try await Self.node(mode: .required, pingInterval: .seconds(2), refreshGrace: .seconds(4))
        let rpc = try await RawWebSocket.connect("\(node.jsonRPCURL)?token=\(try await Self.token(expiresIn: 3))")
        var refresh: JSONValue = nil
        while refresh["method"] != "refresh" { refresh = try await rpc.nextJSON() }
        #expect(refresh["id"] != nil)
        #expect(try await rpc.closeCode(timeout: .seconds(10)) == 4001)

        let fresh = try await Self.token(expiresIn: 3600)
        let stream = try await RawWebSocket.connect("\(node.url)?token=\(try await Self.token(expiresIn: 3))")
        var event: JSONValue = nil
        while event["event"] != "refresh" { event = try await stream.nextJSON() }
        let asked = ContinuousClock.now
        #expect(try await stream.call(["id": "l", "method": "login", "payload": ["token": .string(fresh)]])["response"]?["authenticated"] == true)
        // Past the grace and one more pass: a socket that sent a new token in time stays open.
        try await Task.sleep(until: asked + .seconds(7))
        #expect(try await stream.call(["id": "i", "method": "info"])["response"] != nil)
        await stream.close()
        await node.stop()
    }

    @Test("the HTTP API takes its key in any of three headers: none or a wrong one is 401, the right one 200")
    func apiKeys() async throws {
        let node = try await Self.node()
        let cases: [([String: String], Int)] = [
            ([:], 401), (["Authorization": "apikey wrong"], 401), (["X-API-Key": "wrong"], 401),
            (["Authorization": "apikey the-api-key"], 200), (["Authorization": "Bearer the-api-key"], 200), (["X-API-Key": "the-api-key"], 200),
        ]
        for (headers, status) in cases {
            let response = try await HTTPProbe.request("POST", "/publish", port: node.port, body: #"{"channel":"news","data":"x"}"#, headers: headers)
            #expect(response.status == status, "\(headers)")
            if status == 401 {
                #expect(try JSONValue(parsing: response.body)["error"]?["message"] == "a valid API key is required: send Authorization: apikey <key> (or Bearer <key>, or X-API-Key: <key>)")
            }
        }
        let call = try await HTTPProbe.request("POST", "/call", port: node.port, body: #"{"socket":"x.1","method":"m"}"#)
        #expect(call.status == 401)
        let emit = try await HTTPProbe.request("POST", "/emit", port: node.port, body: #"{"socket":"x.1","event":{}}"#)
        #expect(emit.status == 401)
        await node.stop()
    }

    @Test("info: a plain client sees its own channels only; admin tokens and the API key see them all")
    func infoIsPrivate() async throws {
        let node = try await Self.node(mode: .optional)
        let ann = try await RawWebSocket.connect(node.url + "?token=\(try await Self.token("ann", channels: ["private:*"]))")
        let bob = try await RawWebSocket.connect(node.url + "?token=\(try await Self.token("bob", channels: ["private:*"]))")
        _ = try await ann.call(["id": "s", "method": "subscribe", "payload": ["channel": "private:ann-room"]])
        _ = try await bob.call(["id": "s", "method": "subscribe", "payload": ["channel": "private:bob-room"]])
        let seen = try await bob.call(["id": "i", "method": "info"])["response"]
        #expect(seen?["channels"] == ["private:bob-room": ["*": 1]])
        #expect(seen?["connections"] == 2)
        let admin = try await RawWebSocket.connect(node.url + "?token=\(try await Self.token("root", permissions: ["admin"]))")
        let all = try await admin.call(["id": "i", "method": "server_info"])["response"]?["channels"]?.objectValue?.keys.sorted()
        #expect(all == ["private:ann-room", "private:bob-room"])
        let http = try await HTTPProbe.request("GET", "/info", port: node.port, headers: ["Authorization": "apikey the-api-key"])
        #expect(try JSONValue(parsing: http.body)["channels"]?.objectValue?.count == 2)
        #expect(try await HTTPProbe.request("GET", "/info", port: node.port).status == 401)
        for socket in [ann, bob, admin] { await socket.close() }
        await node.stop()
    }

    @Test("the HTTP API is closed without a key unless authentication is off, whatever the token settings")
    func httpAPIClosedByDefault() async throws {
        // As the shipped deployments start a node: --redis only, so auth optional, no key of any kind.
        var optional = NodeConfiguration(port: 0)
        optional.security = SecurityConfiguration(policy: AccessPolicy(mode: .optional))
        let node = try await TestNode.start(configuration: optional)
        for path in ["/publish", "/call", "/emit"] {
            let response = try await HTTPProbe.request("POST", path, port: node.port, body: #"{"channel":"news","data":"x","socket":"a.1","method":"m","event":{}}"#)
            #expect(response.status == 401, "\(path)")
            #expect(try JSONValue(parsing: response.body)["error"]?["message"]?.stringValue?.contains("--api-key") == true)
        }
        await node.stop()
        let off = try await TestNode.start()  // --auth off
        #expect(try await HTTPProbe.request("POST", "/publish", port: off.port, body: #"{"channel":"news","data":"x"}"#).status == 200)
        await off.stop()
    }

    @Test("the HTTP API refuses web pages: a cross-site form post with a foreign Origin gets 403, even on an open node")
    func httpAPIRefusesPages() async throws {
        let node = try await TestNode.start()
        let form = try await HTTPProbe.request(
            "POST", "/publish", port: node.port, body: #"{"channel":"news","data":"x"}"#,
            headers: ["Content-Type": "text/plain", "Origin": "https://evil.example"]
        )
        #expect(form.status == 403)
        let fetch = try await HTTPProbe.request("POST", "/call", port: node.port, body: #"{"socket":"a.1","method":"m"}"#, headers: ["Sec-Fetch-Site": "cross-site"])
        #expect(fetch.status == 403)
        #expect(try await HTTPProbe.request("POST", "/publish", port: node.port, body: #"{"channel":"news","data":"x"}"#).status == 200)
        await node.stop()
        // An origin the operator listed may call it.
        var listed = NodeConfiguration(port: 0)
        listed.security.allowedOrigins = ["https://admin.example.com"]
        let admin = try await TestNode.start(configuration: listed)
        #expect(try await HTTPProbe.request("POST", "/publish", port: admin.port, body: #"{"channel":"n","data":"x"}"#, headers: ["Origin": "https://admin.example.com"]).status == 200)
        await admin.stop()
    }

    @Test("origins: a foreign one gets 403, allowed ones (exact, wildcard) and none connect")
    func origins() async throws {
        let node = try await Self.node(mode: .off) { $0.allowedOrigins = ["https://app.example.com", "*.example.org"] }
        #expect(try await Self.upgrade(node, headers: ["Origin": "https://evil.example.net"]).0 == 403)
        #expect(try await Self.upgrade(node, headers: ["Origin": "https://app.example.com"]).0 == 101)
        #expect(try await Self.upgrade(node, headers: ["Origin": "http://a.example.org"]).0 == 101)
        #expect(try await Self.upgrade(node).0 == 101)
        // Only scheme://host[:port]: a path, query or user info makes it no origin at all.
        for trick in ["https://evil.com/.example.org", "https://evil.com?.example.org", "https://evil.com#.example.org", "https://x@a.example.org", "https://app.example.com/"] {
            #expect(try await Self.upgrade(node, headers: ["Origin": trick]).0 == 403, "\(trick)")
        }
        await node.stop()
    }

    @Test("limits: connections per node and per address, requests per second, slow headers")
    func limits() async throws {
        let node = try await Self.node(mode: .off) {
            $0.maxConnections = 3
            $0.maxConnectionsPerIP = 2
            $0.requestsPerSecond = 5
            $0.handshakeTimeout = .seconds(1)
        }
        let first = try await RawWebSocket.connect(node.url)
        let second = try await RawWebSocket.connect(node.url)
        let (perAddress, body) = try await Self.upgrade(node)
        #expect(perAddress == 429)
        #expect(body?["message"] == "too many connections from your address (at most 2)")
        await second.close()
        #expect(await eventually { (try? await Self.upgrade(node).0) == 101 })

        // Over the rate: an error reply, then, if it goes on, close 1008.
        for id in 0..<60 { try? await first.send(json: ["id": .string("\(id)"), "method": "info"]) }  // it may be closed before the last
        var refused = 0
        var code: UInt16? = nil
        loop: while true {
            switch try await first.next() {
            case .text(let text, _) where text.contains("Too many requests"): refused += 1
            case .closed(let closeCode, _): code = closeCode; break loop
            default: continue
            }
        }
        #expect(refused > 0)
        #expect(code == 1008)

        // A client that sends half a request and waits is answered 408 and closed.
        let slow = try await HTTPProbe.raw("GET /stream HTTP/1.1\r\nHost: x\r\n", port: node.port)
        #expect(slow.status == 408)
        await node.stop()
    }
}
