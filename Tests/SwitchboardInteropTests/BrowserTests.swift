import Foundation
import NIOCore
import Switchboard
import SwitchboardServer
import SwitchboardTesting
import Testing

/// Browser clients in a real headless Chromium (Debian's `chromium` and `chromium-driver`, driven
/// by Selenium from `Tests/Interop`): the wheel's own `wsrpc.js`, and `clients/js` — the module
/// across two nodes with a reconnect, its classic build from a file, and the demo page.
@Suite(
    "Browser: headless Chromium",
    .enabled(if: InteropScript.python != nil, Comment(rawValue: InteropScript.requirement)),
    .enabled(if: Chromium.installed, "needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver; .ci/run does)")
)
struct BrowserTests {
    @Test("the wheel's wsrpc.js: subtract, kv.set/kv.get, the server's ping, a call back into the page, POST /call, events")
    func wsrpcJS() async throws {
        let quickPings = NodeConfiguration(port: 0, stream: StreamConfiguration(pingInterval: .seconds(1)))
        let node = try await TestNode.start(methods: InteropRoutes.router, configuration: quickPings)
        let outcome = try await InteropScript.run("browser_wsrpc.py", [node.httpURL])
        #expect(outcome.exitCode == 0, "\(outcome)")
        #expect(!outcome.output.contains("FAIL"), "\(outcome)")
        await node.stop()
    }

    @Test("clients/js across two nodes with a reconnect, its classic build from a file, and the demo page in two tabs")
    func switchboardJS() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("switchboard").path
        let screenshot = "\(InteropScript.directory)/../../.build/demo-two-tabs.png"
        let outcome = try await InteropScript.run("browser_js.py", [binary, redis.url, screenshot])
        #expect(outcome.exitCode == 0, "\(outcome)")
        #expect(!outcome.output.contains("FAIL"), "\(outcome)")
    }
}

/// Debian's headless browser and its WebDriver.
enum Chromium {
    static var installed: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium") && FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver")
    }
}

