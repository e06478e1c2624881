import Switchboard
import SwitchboardServer
import SwitchboardTesting
import Testing

@Suite("HTTP routes")
struct HTTPRoutesTests {
    @Test("a plain GET /stream gets 400 with a JSON message")
    func plainGetStream() async throws {
        let node = try await TestNode.start()
        defer { Task { await node.stop() } }
        let response = try await HTTPProbe.request("GET", "/stream", port: node.port)
        #expect(response.status == 400)
        #expect(response.headers["content-type"] == "application/json")
        #expect(try JSONValue(parsing: response.body) == ["message": "Unable to open websocket connection"])
        await node.stop()
    }

    @Test("HEAD is answered as GET without a body; /favicon.ico is 204; a 404 lists every route")
    func headAndNotFound() async throws {
        let node = try await TestNode.start()
        for path in ["/healthz", "/readyz", "/metrics", "/switchboard.js"] {
            let head = try await HTTPProbe.request("HEAD", path, port: node.port)
            #expect(head.status == 200, "\(path)")
            #expect(head.body.isEmpty, "\(path)")
        }
        #expect(try await HTTPProbe.request("GET", "/favicon.ico", port: node.port).status == 204)
        let missing = try await HTTPProbe.request("GET", "/nope", port: node.port)
        #expect(missing.status == 404)
        let routes = try JSONValue(parsing: missing.body)["error"]?["http"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(routes.contains("GET /switchboard.js") && routes.contains("GET /info") && routes.contains("POST /publish"))
        await node.stop()
    }

    @Test("/healthz and /readyz answer; /readyz fails while draining")
    func health() async throws {
        let node = try await TestNode.start()
        let health = try await HTTPProbe.request("GET", "/healthz", port: node.port)
        #expect(health.status == 200)
        let ready = try await HTTPProbe.request("GET", "/readyz", port: node.port)
        #expect(ready.status == 200)
        #expect(try JSONValue(parsing: ready.body)["ready"] == true)
        await node.stop()
    }

    @Test("POST /publish reaches subscribed sockets and validates like the RPC")
    func publish() async throws {
        let node = try await TestNode.start()
        let socket = try await RawWebSocket.connect(node.url)
        _ = try await socket.call(["id": "s", "method": "subscribe", "payload": ["channel": "news"]])
        let ok = try await HTTPProbe.request("POST", "/publish", port: node.port, body: #"{"channel":"news","event":"e","data":{"n":1}}"#)
        #expect(ok.status == 200)
        #expect(try JSONValue(parsing: ok.body) == ["channel": "news", "event": "e", "data": ["n": 1]])
        #expect(try await socket.nextJSON() == ["channel": "news", "event": "e", "data": ["n": 1]])

        let invalid = try await HTTPProbe.request("POST", "/publish", port: node.port, body: #"{"data":5}"#)
        #expect(invalid.status == 400)
        #expect(try JSONValue(parsing: invalid.body) == ["error": ["message": "Invalid RPC parameters", "errors": ["data": "not valid type", "channel": "required"]]])
        let refused = try await HTTPProbe.request("POST", "/publish", port: node.port, body: #"{"channel":"bad channel","data":"x"}"#)
        #expect(refused.status == 400)
        #expect(try JSONValue(parsing: refused.body)["error"]?["errors"] == ["channel": "Cannot publish to channel"])
        let garbage = try await HTTPProbe.request("POST", "/publish", port: node.port, body: "nope")
        #expect(try JSONValue(parsing: garbage.body) == ["error": ["message": "JSON string expected"]])
        await socket.close()
        await node.stop()
    }

    @Test("POST /publish to a history channel answers with the offset and epoch its subscribers get")
    func publishToHistory() async throws {
        var configuration = NodeConfiguration(port: 0)
        configuration.security.policy.channels = [ChannelRule(match: "hist:*", historySize: 100, historyTTL: 600)]
        let node = try await TestNode.start(configuration: configuration)
        let socket = try await RawWebSocket.connect(node.url)
        _ = try await socket.call(["id": "s", "method": "subscribe", "payload": ["channel": "hist:news"]])
        let ok = try await HTTPProbe.request("POST", "/publish", port: node.port, body: #"{"channel":"hist:news","data":"x"}"#)
        #expect(ok.status == 200)
        let reply = try JSONValue(parsing: ok.body)
        let delivered = try await socket.nextJSON()
        #expect(reply["offset"]?.stringValue != nil)
        #expect(reply["offset"] == delivered["offset"])
        #expect(reply["epoch"] == delivered["epoch"])
        await socket.close()
        await node.stop()
    }

    @Test("/metrics exports the node's counters in Prometheus text format")
    func metrics() async throws {
        let node = try await TestNode.start()
        let socket = try await RawWebSocket.connect(node.url)
        _ = try await socket.call(["id": "s", "method": "subscribe", "payload": ["channel": "m"]])
        _ = try await socket.call(["id": "p", "method": "publish", "payload": ["channel": "m", "data": "x"]])
        _ = try await socket.call(["id": "x", "method": "nope"])
        let response = try await HTTPProbe.request("GET", "/metrics", port: node.port)
        #expect(response.status == 200)
        #expect(response.headers["content-type"]?.hasPrefix("text/plain") == true)
        for line in [
            "switchboard_connections 1", "switchboard_channels 1", "switchboard_subscriptions 1",
            "switchboard_messages_published_total 1", "switchboard_messages_delivered_total 1",
            #"switchboard_rpc_errors_total{kind="unknown_method"} 1"#,
        ] {
            #expect(response.body.contains(line), "missing \(line) in:\n\(response.body)")
        }
        #expect(response.body.contains("switchboard_rpc_duration_seconds_bucket"))
        // Every family has its help, and the node says who it is.
        let families = response.body.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] }
        #expect(families.count >= 10)
        for family in families {
            #expect(response.body.contains("# HELP \(family) "), "no # HELP for \(family)")
        }
        #expect(response.body.contains(#"switchboard_node_info{node="\#(node.hub.nodeID)",broker="local",version="\#(SwitchboardVersion.current)"} 1"#))
        await socket.close()
        await node.stop()
    }

    @Test("an unknown path (any method) gets 404 with a JSON body naming what the node serves")
    func unknownPath() async throws {
        let node = try await TestNode.start()
        for method in ["GET", "POST", "DELETE"] {
            let response = try await HTTPProbe.request(method, "/nope", port: node.port)
            #expect(response.status == 404)
            #expect(response.headers["content-type"] == "application/json")
            let error = try JSONValue(parsing: response.body)["error"]
            #expect(error?["message"] == .string("nothing is served at \(method) /nope"))
            #expect(error?["websocket"] == ["/stream", "/jsonrpc", "/wsrpc"])
            #expect(error?["http"]?.arrayValue?.contains("POST /publish") == true)
        }
        await node.stop()
    }

    @Test("a body over the limit gets 413 naming the limit; a refused channel says why")
    func bodyLimitAndReasons() async throws {
        var configuration = NodeConfiguration(port: 0)
        configuration.stream.maxMessageSize = 2048
        let node = try await TestNode.start(configuration: configuration)
        let big = #"{"channel":"x","data":""# + String(repeating: "a", count: 4096) + #""}"#
        let response = try await HTTPProbe.request("POST", "/publish", port: node.port, body: big)
        #expect(response.status == 413)
        #expect(try JSONValue(parsing: response.body) == [
            "error": ["message": "the request body is over the limit of 2048 bytes (--max-message-size)", "limit": 2048],
        ])
        let spaced = try await HTTPProbe.request("POST", "/publish", port: node.port, body: #"{"channel":"a b","data":"x"}"#)
        #expect(spaced.status == 400)
        #expect(try JSONValue(parsing: spaced.body)["error"] == [
            "message": "Invalid RPC parameters", "errors": ["channel": "Cannot publish to channel"],
            "reason": .string("\(ChannelName.rule); it holds whitespace (U+20)"),
        ])
        await node.stop()
    }
}
