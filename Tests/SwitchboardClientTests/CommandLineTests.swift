import SwitchboardProcesses
import Foundation
import Switchboard
import SwitchboardTesting
import Testing

/// The `switchboard` executable, driven as a user would: `serve` in one process, `subscribe`,
/// `publish` and `call` in others.
@Suite("switchboard command line", .serialized)
struct CommandLineTests {
    /// The repository (this file is Tests/SwitchboardClientTests/CommandLineTests.swift).
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The executable built next to the test bundle.
    static var executable: URL {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        return bundle.appendingPathComponent("switchboard")
    }

    /// A running `switchboard serve` on a free port, stopped by PID.
    final class Server: @unchecked Sendable {
        let process = Process()
        let port: Int
        private let log = Mailbox<String>()
        private var collected = ""

        init(arguments: [String] = []) async throws {
            let errors = Pipe()
            process.executableURL = CommandLineTests.executable
            process.arguments = ["serve", "--port", "0", "--log-level", "debug"] + arguments
            process.standardError = errors
            process.standardOutput = FileHandle.nullDevice
            try process.runWatched()
            // Keep reading the log (so the pipe never fills) and hand it over line by line.
            let log = self.log
            let reader = errors.fileHandleForReading
            Thread.detachNewThread {
                while true {
                    let data = reader.availableData
                    if data.isEmpty { break }
                    log.put(String(decoding: data, as: UTF8.self))
                }
            }
            var seen = ""
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline {
                guard let chunk = await log.take(timeout: .seconds(20)) else { break }
                seen += chunk
                if let range = seen.range(of: #"address=127\.0\.0\.1:(\d+)"#, options: .regularExpression) {
                    port = Int(seen[range].split(separator: ":").last!)!
                    collected = seen
                    return
                }
            }
            process.terminate()
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "serve did not start: \(seen)"])
        }

        var url: String { "ws://127.0.0.1:\(port)/stream" }

        /// Everything the server logged so far.
        var output: String {
            collected += log.drain().joined()
            return collected
        }

        func stop() {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
        }

        /// Stops the node (SIGTERM) while a subscribed socket is open; the close code that socket got.
        func stopWithSubscribedSocket() async throws -> UInt16? {
            let socket = try await RawWebSocket.connect(url)
            _ = try await socket.call(["id": "s", "method": "subscribe", "payload": ["channel": "c"]])
            process.terminate()
            let code = try await socket.closeCode(timeout: .seconds(10))
            process.waitUntilExit()
            return code
        }
    }

    /// Runs the executable to completion and returns its exit code and standard output.
    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        let output = Pipe()
        process.executableURL = executable
        process.arguments = arguments
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.runWatched()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test("subscribe in one process, publish in another")
    func session() async throws {
        let server = try await Server()
        defer { server.stop() }
        let subscriber = Process()
        let output = Pipe()
        subscriber.executableURL = Self.executable
        subscriber.arguments = ["subscribe", "--url", server.url, "--channel", "news", "--count", "2"]
        subscriber.standardOutput = output
        try subscriber.runWatched()
        let probe = try await RawWebSocket.connect(server.url)
        let deadline = ContinuousClock.now + .seconds(10)
        while try await probe.call(["id": "i", "method": "info"])["response"]?["channels"]?["news"] == nil, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        let first = try Self.run(["publish", "--url", server.url, "--channel", "news", "--event", "created", #"{"id": 1}"#])
        #expect(first.status == 0)
        #expect(try JSONValue(parsing: first.output) == ["channel": "news", "event": "created", "data": ["id": 1]])
        #expect(try Self.run(["publish", "--url", server.url, "--channel", "news", #""two""#]).status == 0)
        let lines = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
        subscriber.waitUntilExit()
        #expect(subscriber.terminationStatus == 0)
        #expect(try lines.map { try JSONValue(parsing: String($0)) } == [
            ["channel": "news", "event": "created", "data": ["id": 1]],
            ["channel": "news", "event": "", "data": "two"],
        ])
        await probe.close()
    }

    @Test("call prints the response, or the error object with exit code 1")
    func call() async throws {
        let server = try await Server()
        defer { server.stop() }
        let info = try Self.run(["call", "--url", server.url, "info"])
        #expect(info.status == 0)
        #expect(try JSONValue(parsing: info.output)["connections"] == 1)
        let refused = try Self.run(["call", "--url", server.url, "subscribe", #"{"channel": "bad channel"}"#])
        #expect(refused.status == 1)
        #expect(try JSONValue(parsing: refused.output) == ["error": ["message": "Invalid RPC parameters", "errors": ["channel": "Invalid channel"]]])
        #expect(try Self.run(["publish", "--url", server.url, "--channel", "x", "not json"]).status != 0)
    }

    @Test("publish takes its data inline, from standard input (-) or from a file (@FILE)")
    func dataSources() async throws {
        let server = try await Server()
        defer { server.stop() }
        let process = Process()
        let input = Pipe()
        let output = Pipe()
        process.executableURL = Self.executable
        process.arguments = ["publish", "--url", server.url, "--channel", "x", "-"]
        process.standardInput = input
        process.standardOutput = output
        try process.runWatched()
        let large = String(repeating: "z", count: 200_000)  // over the command line's limit for one argument
        input.fileHandleForWriting.write(Data(#"{"a": 1, "big": "\#(large)"}"#.utf8))
        try input.fileHandleForWriting.close()
        let printed = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(try JSONValue(parsing: String(decoding: printed, as: UTF8.self))["data"] == ["a": 1, "big": .string(large)])

        let file = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-data-\(UUID()).json")
        try Data(#"[1, "two"]"#.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let fromFile = try Self.run(["publish", "--url", server.url, "--channel", "x", "@\(file.path)"])
        #expect(fromFile.status == 0)
        #expect(try JSONValue(parsing: fromFile.output)["data"] == [1, "two"])
        let missing = try Self.runWithErrors(["publish", "--url", server.url, "--channel", "x", "@/nonexistent/file.json"])
        #expect(missing.status == 64)
        #expect(missing.errors.contains("cannot read the file /nonexistent/file.json"))
        let unquoted = try Self.runWithErrors(["publish", "--url", server.url, "--channel", "x", "hello"])
        #expect(unquoted.status == 64)
        #expect(unquoted.errors.contains("A string needs quotes"))
    }

    @Test("refusals are explained: the channel-name rules, a wrong path, a taken port, an unknown host")
    func explanations() async throws {
        let server = try await Server()
        defer { server.stop() }
        let spaced = try Self.runWithErrors(["publish", "--url", server.url, "--channel", "a b", #""x""#])
        #expect(spaced.status == 1)
        #expect(spaced.errors.contains(#"the node refused the channel "a b": a channel name is 1 to 256 bytes"#))
        #expect(spaced.errors.contains("it holds whitespace"))
        let long = try Self.runWithErrors(["subscribe", "--url", server.url, "--channel", String(repeating: "c", count: 300)])
        #expect(long.status == 1)
        #expect(long.errors.contains("it is 300 bytes long"))
        #expect(server.output.contains("channel refused"))

        let wrongPath = try Self.runWithErrors(["call", "--url", "ws://127.0.0.1:\(server.port)/nope", "info"])
        #expect(wrongPath.status == 69)
        #expect(wrongPath.errors.contains("no WebSocket endpoint at ws://127.0.0.1:\(server.port)/nope: HTTP 404"))
        #expect(wrongPath.errors.contains("/stream"))

        let taken = try Self.runWithErrors(["serve", "--port", "\(server.port)"])
        #expect(taken.status == 71)
        #expect(taken.errors.contains("cannot listen on 127.0.0.1:\(server.port): address already in use"))
        let unknownHost = try Self.runWithErrors(["serve", "--host", "no-such-host.invalid", "--port", "\(server.port)"])
        #expect(unknownHost.status == 71)
        #expect(unknownHost.errors.contains("cannot listen on no-such-host.invalid:\(server.port): no such host (check --host)"))
    }

    @Test("subscribe --reconnect waits for a node that is not up yet, then gets its messages")
    func subscribeWaits() async throws {
        let port = try PortReservation.freePortOutsideEphemeralRange()
        let subscriber = Process()
        let output = Pipe()
        let errors = Pipe()
        subscriber.executableURL = Self.executable
        subscriber.arguments = ["subscribe", "--reconnect", "--url", "ws://127.0.0.1:\(port)/stream", "--channel", "later", "--count", "1"]
        subscriber.standardOutput = output
        subscriber.standardError = errors
        try subscriber.runWatched()
        defer { if subscriber.isRunning { subscriber.terminate() } }
        // It says it is waiting, and keeps running.
        let said = Mailbox<String>()
        let reader = errors.fileHandleForReading
        Thread.detachNewThread {
            while true {
                let data = reader.availableData
                if data.isEmpty { break }
                said.put(String(decoding: data, as: UTF8.self))
            }
        }
        let first = await said.take(timeout: .seconds(20))
        #expect(first?.contains("connection refused — is a node running?") == true)
        #expect(subscriber.isRunning)

        let server = try await Server(arguments: ["--port", "\(port)"])
        defer { server.stop() }
        let probe = try await RawWebSocket.connect(server.url)
        #expect(await eventually(timeout: .seconds(20)) {
            (try? await probe.call(["id": "i", "method": "info"])["response"]?["channels"]?["later"]) != nil
        })
        #expect(try Self.run(["publish", "--url", server.url, "--channel", "later", #""finally""#]).status == 0)
        let lines = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        subscriber.waitUntilExit()
        #expect(subscriber.terminationStatus == 0)
        #expect(try JSONValue(parsing: lines) == ["channel": "later", "event": "", "data": "finally"])
        await probe.close()
    }

    @Test("publish --wait waits for a node started after it (the README's background recipes), then publishes")
    func publishWaits() async throws {
        let port = try PortReservation.freePortOutsideEphemeralRange()
        let publisher = Process()
        let output = Pipe()
        publisher.executableURL = Self.executable
        publisher.arguments = ["publish", "--wait", "60", "--url", "ws://127.0.0.1:\(port)/stream", "--channel", "later", #""hello""#]
        publisher.standardOutput = output
        publisher.standardError = FileHandle.nullDevice
        try publisher.runWatched()
        defer { if publisher.isRunning { publisher.terminate() } }
        #expect(publisher.isRunning)
        let server = try await Server(arguments: ["--port", "\(port)"])
        defer { server.stop() }
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        publisher.waitUntilExit()
        #expect(publisher.terminationStatus == 0)
        #expect(try JSONValue(parsing: printed) == ["channel": "later", "event": nil, "data": "hello"])
        // Without --wait a missing node is an error at once.
        #expect(try Self.run(["publish", "--url", "ws://127.0.0.1:\(try PortReservation.freePort())/stream", "--channel", "x", #""y""#]).status == 69)
    }

    @Test("subscribe --since prints what a history channel got after the given position, then goes on live")
    func subscribeSince() async throws {
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-history-\(UUID()).json")
        try Data(#"{"channels": [{"match": "log:*", "history_size": 100, "history_ttl_s": 60}]}"#.utf8).write(to: config)
        defer { try? FileManager.default.removeItem(at: config) }
        let server = try await Server(arguments: ["--config", config.path])
        defer { server.stop() }
        let probe = try await RawWebSocket.connect(server.url)
        _ = try await probe.call(["id": "s", "method": "subscribe", "payload": ["channel": "log:cli"]])
        var printed: [JSONValue] = []
        for n in 1...3 {
            #expect(try Self.run(["publish", "--url", server.url, "--channel", "log:cli", #"{"n": \#(n)}"#]).status == 0)
            var message: JSONValue = nil
            while message["channel"] != "log:cli" { message = try await probe.nextJSON() }
            printed.append(message)
        }
        let since = "\(printed[0]["offset"]!.stringValue!)@\(printed[0]["epoch"]!.stringValue!)"
        let replay = try Self.run(["subscribe", "--url", server.url, "--channel", "log:cli", "--since", since, "--count", "2"])
        #expect(replay.status == 0)
        let lines = try replay.output.split(separator: "\n").map { try JSONValue(parsing: String($0)) }
        #expect(lines == Array(printed[1...]))
        let bad = try Self.runWithErrors(["subscribe", "--url", server.url, "--channel", "log:cli", "--since", "yesterday"])
        #expect(bad.status == 64)
        #expect(bad.errors.contains("--since takes OFFSET@EPOCH"))
        await probe.close()
    }

    @Test("call works over /jsonrpc too: params by position, JSON-RPC errors")
    func callJSONRPC() async throws {
        let server = try await Server(arguments: ["--topics", "news"])
        defer { server.stop() }
        let url = "ws://127.0.0.1:\(server.port)/jsonrpc"
        let published = try Self.run(["call", "--url", url, "publish", #"["news", {"id": 1}]"#])
        #expect(published.status == 0)
        #expect(try JSONValue(parsing: published.output) == ["channel": "news", "event": nil, "data": ["id": 1]])
        #expect(try JSONValue(parsing: Self.run(["call", "--url", url, "get_topics"]).output) == ["news"])
        let unknown = try Self.run(["call", "--url", url, "nope"])
        #expect(unknown.status == 1)
        #expect(try JSONValue(parsing: unknown.output)["error"]?["code"] == -32601)
        let positional = try Self.run(["call", "--url", server.url, "publish", #"["news"]"#])
        #expect(positional.status != 0)
    }

    @Test("serve refuses a bad configuration file, naming the key, and --auth required without a key")
    func badConfiguration() throws {
        let path = NSTemporaryDirectory() + "switchboard-bad-\(UUID().uuidString).json"
        try #"{"auth": {"mode": "required", "jtw": {}}}"#.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let bad = try Self.runWithErrors(["serve", "--port", "0", "--config", path])
        #expect(bad.status != 0)
        #expect(bad.errors.contains("unknown key auth.jtw"))
        let keyless = try Self.runWithErrors(["serve", "--port", "0", "--auth", "required"])
        #expect(keyless.status != 0)
        #expect(keyless.errors.contains("--auth required needs a key"))
        let refused = try Self.runWithErrors(["call", "--url", "ws://127.0.0.1:1/stream", "info"])
        #expect(refused.status == 69)
        #expect(refused.errors.contains("connection refused — is a node running?"))
    }

    /// Runs the executable and returns its exit status and standard error.
    static func runWithErrors(_ arguments: [String]) throws -> (status: Int32, errors: String) {
        let process = Process()
        let errors = Pipe()
        process.executableURL = executable
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.runWatched()
        let data = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test("serve reads its settings from the environment; a flag wins")
    func environment() throws {
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = ["serve", "--port", "0"]
        process.environment = ["SWITCHBOARD_LOG_LEVEL": "nonsense"]
        process.standardError = FileHandle.nullDevice
        try process.runWatched()
        process.waitUntilExit()
        #expect(process.terminationStatus != 0)
    }

    @Test("bench: spawns a node, publishes, and reports a complete run as one JSON line")
    func bench() throws {
        let json = try Self.completeBench(["--subscribers", "5", "--channels", "2", "--publishers", "2", "--messages", "100"], expected: 250)
        #expect(json["p99_ms"]?.doubleValue != nil)
        #expect(json["server_cpu_us_per_delivery"]?.doubleValue != nil)
        #expect(json["redis_ratio"] == nil || json["redis_ratio"] == .null)
    }

    @Test("bench --rate: every paced message is published and delivered, no sooner than its slot")
    func benchPaced() throws {
        let json = try Self.completeBench(["--subscribers", "2", "--publishers", "1", "--messages", "200", "--rate", "400"], expected: 400)
        #expect(json["publish_errors"] == 0)
        // Message k is due at a random point of [k, k + 1) / rate: the last one not before 199/400 s.
        let seconds = json["seconds"]?.doubleValue ?? 0
        #expect(seconds >= 199.0 / 400.0, "the run took \(seconds) s")
    }

    /// Runs `bench --spawn 1` with `arguments`; expects a run with every delivery, once, in order.
    private static func completeBench(_ arguments: [String], expected: Int) throws -> JSONValue {
        let run = try Self.run(["bench", "--spawn", "1"] + arguments)
        #expect(run.status == 0)
        let json = try JSONValue(parsing: String(run.output.split(separator: "\n").last ?? ""))
        #expect(json["expected"] == .number(JSONNumber(expected)))
        #expect(json["delivered"] == .number(JSONNumber(expected)))
        #expect(json["lost"] == 0)
        #expect(json["duplicates"] == 0)
        #expect(json["reordered"] == 0)
        return json
    }

    @Test("bench killed with SIGKILL: the redis-server and nodes it started stop too")
    func benchKilled() async throws {
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = ["bench", "--spawn", "2", "--redis", "auto", "--subscribers", "2", "--publishers", "1", "--messages", "1000000000"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.runWatched()
        let bench = process.processIdentifier
        // redis-server and two nodes, as children of the bench process (its lifeline watcher,
        // a /bin/sh, is not counted: it ends by itself).
        var children: [Int32] = []
        let started = await eventually(timeout: .seconds(60)) {
            children = Self.children(of: bench)
            return children.count >= 3
        }
        kill(bench, SIGKILL)
        process.waitUntilExit()
        #expect(started, "bench started \(children.count) of 3 processes")
        var alive = children
        let stopped = await eventually(timeout: .seconds(15)) {
            alive = alive.filter { kill($0, 0) == 0 && !Self.isZombie($0) }
            return alive.isEmpty
        }
        #expect(stopped, "still running after bench was killed: \(alive)")
    }

    /// PIDs whose parent is `parent`, other than shells (from /proc).
    static func children(of parent: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return false }
            // "pid (name) state ppid ..."
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == parent && !stat.contains("(sh)")
        }
    }

    static func isZombie(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(after: close)...].split(separator: " ").first == "Z"
    }

    @Test("SIGTERM: sockets get 1001 and the process exits 0")
    func sigterm() async throws {
        let server = try await Server()
        let code = try await server.stopWithSubscribedSocket()
        #expect(code == 1001, "server log:\n\(server.output)")
        #expect(server.process.terminationStatus == 0)
    }

    @Test("serve runs on jemalloc, linked (not preloaded), and names it at start")
    func allocator() async throws {
        let server = try await Server()
        defer { server.stop() }
        // Read to its end: a /proc file says it is empty, so a read by its size stops early.
        let maps = FileHandle(forReadingAtPath: "/proc/\(server.process.processIdentifier)/maps")?.readDataToEndOfFile() ?? Data()
        #expect(String(decoding: maps, as: UTF8.self).contains("/libjemalloc.so.2"))
        #expect(server.output.contains("allocator=jemalloc 5."), "server log:\n\(server.output)")
    }

    @Test("a node stopped with sockets open starts again at once on its port (the closed connections wait in TIME_WAIT)")
    func restartOnSamePort() async throws {
        let first = try await Server()
        #expect(try await first.stopWithSubscribedSocket() == 1001)
        let second = try await Server(arguments: ["--port", "\(first.port)"])
        defer { second.stop() }
        #expect(second.port == first.port)
        let again = try await RawWebSocket.connect(second.url)
        #expect(try await again.call(["id": "i", "method": "info"])["response"] != nil)
    }
}
