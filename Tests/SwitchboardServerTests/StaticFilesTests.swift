import Foundation
import Switchboard
import SwitchboardServer
import SwitchboardTesting
import Testing

/// What a node serves of `clients/`: the browser module, its classic build and types, the demo.
@Suite("Static files")
struct StaticFilesTests {
    /// A file of this repository.
    static func file(_ path: String) throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    @Test("the node serves clients/js as it is in the repository, to any origin")
    func module() async throws {
        let node = try await TestNode.start()
        for (path, file, type) in [
            ("/switchboard.js", "clients/js/switchboard.js", "text/javascript; charset=utf-8"),
            ("/switchboard.global.js", "clients/js/switchboard.global.js", "text/javascript; charset=utf-8"),
            ("/switchboard.d.ts", "clients/js/switchboard.d.ts", "application/typescript; charset=utf-8"),
        ] {
            let response = try await HTTPProbe.request("GET", path, port: node.port)
            #expect(response.status == 200, "\(path)")
            #expect(response.headers["content-type"] == type)
            #expect(response.headers["access-control-allow-origin"] == "*")
            #expect(response.body == (try Self.file(file)).trimmingCharacters(in: .newlines), "\(path) differs from \(file): run scripts/generate-js.sh")
        }
        await node.stop()
    }

    @Test("the demo page is served at / only when enabled")
    func demo() async throws {
        let plain = try await TestNode.start()
        #expect(try await HTTPProbe.request("GET", "/", port: plain.port).status == 404)
        await plain.stop()
        let demo = try await TestNode.start(configuration: NodeConfiguration(port: 0, demo: true))
        let page = try await HTTPProbe.request("GET", "/", port: demo.port)
        #expect(page.status == 200)
        #expect(page.headers["content-type"] == "text/html; charset=utf-8")
        #expect(page.body.contains(#"import { SwitchboardClient } from "/switchboard.js";"#))
        await demo.stop()
    }
}
