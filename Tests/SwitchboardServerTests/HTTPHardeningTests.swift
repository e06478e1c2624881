import Switchboard
import SwitchboardServer
import SwitchboardTesting
import Testing

/// Requests the parser or the gate refuses get a status, a JSON body, and a closed connection.
@Suite("HTTP: bad requests answered and closed")
struct HTTPHardeningTests {
    @Test("duplicate Content-Length, Content-Length with Transfer-Encoding: 400; a 1 MiB header: 431")
    func parseErrors() async throws {
        let node = try await TestNode.start()
        let duplicate = try await HTTPProbe.raw("POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", port: node.port)
        #expect(duplicate.status == 400)
        #expect(try JSONValue(parsing: duplicate.body)["message"]?.stringValue?.contains("Content-Length") == true)
        let smuggled = try await HTTPProbe.raw("POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", port: node.port)
        #expect(smuggled.status == 400)
        let huge = try await HTTPProbe.raw("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 1 << 20))\r\n\r\n", port: node.port)
        #expect(huge.status == 431)
        #expect(try await HTTPProbe.request("GET", "/healthz", port: node.port).status == 200)
        await node.stop()
    }

    @Test("rejected upgrades over the wire: a wrong path names the served paths; h2c is served as HTTP/1.1")
    func upgrades() async throws {
        let node = try await TestNode.start()
        let upgrade = ["Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="]
        let wrong = try await HTTPProbe.request("GET", "/wrong", port: node.port, headers: upgrade)
        #expect(wrong.status == 404)
        #expect(try JSONValue(parsing: wrong.body) == ["message": "no WebSocket endpoint at /wrong", "paths": ["/jsonrpc", "/stream", "/wsrpc"]])
        #expect(wrong.headers["connection"] == "close")
        let post = try await HTTPProbe.request("POST", "/stream", port: node.port, headers: upgrade)
        #expect(post.status == 405)
        let h2c = try await HTTPProbe.request("GET", "/healthz", port: node.port, headers: ["Connection": "Upgrade, HTTP2-Settings", "Upgrade": "h2c", "HTTP2-Settings": "AAMAAABkAARAAAAAAAIAAAAA"])
        #expect(h2c.status == 200)
        await node.stop()
    }
}
