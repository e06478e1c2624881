import ArgumentParser
import Foundation
import Histogram
import NIOCore
import NIOPosix
import Switchboard
import SwitchboardProcesses
import SwitchboardWebSocket
import Synchronization

/// `switchboard-bench` (also `switchboard bench`, which runs it): the load generator, apart from
/// the node's executable so that a node links no process helpers and no histogram.
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchboard-bench",
        abstract: "Measure publish throughput, fan-out, latency and memory of nodes.",
        discussion: """
            Subscribers are spread evenly over the nodes and channels; publishers send through the \
            nodes (publish RPCs over WebSockets) and stamp each message with its send time. Progress \
            goes to stderr; a table and then one JSON line go to stdout. Build in release mode for \
            figures: swift build -c release. See docs/performance.md.
            """
    )

    @Option(name: .customLong("url"), help: "A node's /stream URL (repeatable).")
    var urls: [String] = []

    @Option(help: "Start this many nodes on free ports (with --redis when more than one): `switchboard serve` of --node-executable.")
    var spawn: Int = 0

    @Option(help: "The node executable for --spawn (default: switchboard next to this program).")
    var nodeExecutable: String?

    @Option(help: "Redis URL for spawned nodes and the baseline (redis+cluster://host:port,... for a Redis Cluster); 'auto' starts a redis-server on a free port.")
    var redis: String?

    @Option(help: "PIDs of node processes to measure (CPU and memory), comma-separated; spawned nodes are measured anyway.")
    var pids: String?

    @Option(help: "Subscriber sockets (spread across the nodes).")
    var subscribers: Int = 10

    @Option(help: "Channels (subscriber i is on channel i % channels).")
    var channels: Int = 1

    @Option(help: "Publishing connections (spread across the nodes).")
    var publishers: Int = 1

    @Option(help: "Messages in all (split among the publishers).")
    var messages: Int = 10_000

    @Option(help: "Target publish rate in messages per second, all publishers together, each message at a random point of its slot; 0: as fast as the window allows.")
    var rate: Double = 0

    @Option(help: "Publishes in flight per publisher.")
    var window: Int = 64

    @Option(help: "Bytes of padding in each message's data.")
    var payloadBytes: Int = 16

    @Option(help: "The RPC method publishers call (with the publish payload): another method, such as one the node forwards to its backend (--proxy-rpc), measures RPC round trips; use --subscribers 0.")
    var method: String = "publish"

    @Flag(help: "Subscribers offer per-message deflate.")
    var compression = false

    @Flag(help: "Also run redis-benchmark -P 16 PUBLISH against the same Redis (nodes subscribed) and print the ratio.")
    var redisBaseline = false

    @Option(help: "Publishes for the Redis baseline.")
    var baselineRequests: Int = 300_000

    @Option(help: "Seconds to wait for the last deliveries once every publish was answered.")
    var drainTimeout: Double = 10

    @Option(help: "Extra arguments for spawned nodes (e.g. --compression off), space-separated.")
    var nodeArguments: String = ""

    @Option(help: "Extra sockets on channel 0 that stop reading (slow consumers): the nodes should cut them off without delaying the others.")
    var slowConsumers: Int = 0

    func validate() throws {
        guard spawn > 0 || !urls.isEmpty else { throw ValidationError("give --url (repeatable) or --spawn N") }
        guard subscribers >= 0, channels >= 1, publishers >= 1, messages >= 0, window >= 1, payloadBytes >= 0 else {
            throw ValidationError("counts must be positive")
        }
        if spawn > 1, redis == nil { throw ValidationError("--spawn with more than one node needs --redis URL (or --redis auto)") }
        if redisBaseline, redis == nil { throw ValidationError("--redis-baseline needs --redis") }
        if redisBaseline, redis?.contains("+cluster://") == true {
            throw ValidationError("--redis-baseline runs redis-benchmark PUBLISH against one Redis; on a Redis Cluster compare with the single-Redis run instead")
        }
    }

    func run() async throws {
        #if DEBUG
        FileHandle.standardError.write(Data("warning: switchboard-bench is a debug build: its own figures (and those of debug nodes) are not what a release build does; build with swift build -c release\n".utf8))
        #endif
        raiseOpenFilesLimit()
        let spawned = try SpawnedProcesses()
        defer { spawned.stopAll() }
        var redisURL = redis
        if redis == "auto" {
            redisURL = "redis://127.0.0.1:\(try spawned.startRedis())"
        }
        var targets = urls
        if spawn > 0 {
            let sibling = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("switchboard").path
            let executable = nodeExecutable ?? sibling
            guard FileManager.default.isExecutableFile(atPath: executable) else {
                throw BenchError("no node executable at \(executable): build it (swift build -c release) or give --node-executable")
            }
            try spawned.startNodes(spawn, nodeExecutable: executable, redisURL: redisURL, extraArguments: nodeArguments.split(separator: " ").map(String.init))
            targets += spawned.nodes.map(\.url)
        }
        let nodePIDs: [Int32] = spawned.nodes.map(\.process.pid) + (pids ?? "").split(separator: ",").compactMap { Int32($0) }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let runner = BenchRunner(options: self, targets: targets, nodePIDs: nodePIDs, redisURL: redisURL, group: group)
        let report = try await runner.run()
        report.print()
    }
}

/// Runs one benchmark: connect and subscribe, optional Redis baseline, publish, collect.
struct BenchRunner {
    let options: BenchCommand
    let targets: [String]
    let nodePIDs: [Int32]
    let redisURL: String?
    let group: MultiThreadedEventLoopGroup

    func progress(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    func run() async throws -> BenchReport {
        var report = BenchReport(options: options, nodes: targets.count)
        let counters = BenchCounters()
        let loopStats = group.makeIterator().map { LoopStats(eventLoop: $0) }
        let channelNames = (0..<options.channels).map { "bench-\($0)" }

        // Memory of idle nodes, then connect and subscribe.
        let before = nodePIDs.compactMap { ProcessStats.read(pid: $0) }
        progress("connecting \(options.subscribers) subscribers to \(targets.count) node(s)...")
        var subscribers: [(any Channel, SubscriberState)] = []
        var index = 0
        while index < options.subscribers {
            let batch = (index..<min(index + 250, options.subscribers))
            let connected = try await withThrowingTaskGroup(of: (Int, any Channel, SubscriberState).self) { tasks in
                for i in batch {
                    tasks.addTask {
                        let (channel, state) = try await connectSubscriber(url: targets[i % targets.count], loopStats: loopStats, counters: counters)
                        try await state.call(channel, #"{"id":"s","method":"subscribe","payload":{"channel":"\#(channelNames[i % channelNames.count])"}}"#)
                        return (i, channel, state)
                    }
                }
                var results: [(Int, any Channel, SubscriberState)] = []
                for try await result in tasks { results.append(result) }
                return results.sorted { $0.0 < $1.0 }
            }
            subscribers += connected.map { ($0.1, $0.2) }
            index = batch.upperBound
        }
        let after = nodePIDs.compactMap { ProcessStats.read(pid: $0) }
        if !before.isEmpty, before.count == after.count, options.subscribers > 0 {
            let grown = zip(before, after).map { $1.rssKiB - $0.rssKiB }.reduce(0, +)
            report.rssKiBPerConnection = grown / Double(options.subscribers)
            report.nodeRSSKiB = after.map(\.rssKiB).reduce(0, +)
        }

        // Slow consumers: subscribed sockets that stop reading.
        var slow: [any Channel] = []
        for i in 0..<options.slowConsumers {
            let (channel, state) = try await connectSubscriber(url: targets[i % targets.count], loopStats: loopStats, counters: counters)
            try await state.call(channel, #"{"id":"s","method":"subscribe","payload":{"channel":"\#(channelNames[0])"}}"#)
            try await channel.setOption(.autoRead, value: false).get()
            slow.append(channel)
        }
        let slowClosesBefore = await scrapeSlowConsumerCloses()

        if options.redisBaseline, let redisURL {
            report.redisBaselinePerSecond = try await redisBaseline(redisURL: redisURL, loopStats: loopStats, counters: counters)
        }

        // Publish.
        var publisherDrivers: [PublisherDriver] = []
        let perPublisher = options.messages / options.publishers
        let padding = String(repeating: "x", count: options.payloadBytes)
        for p in 0..<options.publishers {
            let count = perPublisher + (p < options.messages % options.publishers ? 1 : 0)
            let holder = DriverHolder()
            let channel = try await WebSocketClientConnection.connect(
                to: WebSocketURL(targets[p % targets.count]),
                eventLoopGroup: group,
                callbacks: WebSocketClientCallbacks(
                    onText: { text, _ in holder.driver?.replied(text) },
                    onClose: { _, _ in },
                    onReadComplete: { holder.driver?.readComplete() }
                )
            )
            let driver = PublisherDriver(
                channel: channel, index: p, total: count, channels: channelNames, padding: padding,
                window: options.window, rate: options.rate / Double(options.publishers), counters: counters, method: options.method
            )
            try await channel.eventLoop.submit { holder.driver = driver }.get()
            publisherDrivers.append(driver)
        }
        // Expected deliveries: message k of publisher p goes to channel (k + p) % C.
        var subscribersPerChannel = Array(repeating: 0, count: options.channels)
        for i in 0..<options.subscribers { subscribersPerChannel[i % options.channels] += 1 }
        var expected = 0
        for p in 0..<options.publishers {
            let count = perPublisher + (p < options.messages % options.publishers ? 1 : 0)
            for k in 0..<count { expected += subscribersPerChannel[(k + p) % options.channels] }
        }
        report.expected = expected

        progress("publishing \(options.messages) messages from \(options.publishers) publisher(s)" + (options.rate > 0 ? " at \(Int(options.rate))/s" : " as fast as possible (window \(options.window))") + "...")
        let cpuBefore = nodePIDs.compactMap { ProcessStats.read(pid: $0) }
        let ownBefore = ProcessStats.ownCPUMicroseconds()
        let started = monotonicNanoseconds()
        for driver in publisherDrivers { driver.start() }
        let ticker = Task {
            var last = 0
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                let delivered = counters.delivered.load(ordering: .relaxed)
                progress("  published \(counters.published.load(ordering: .relaxed))/\(options.messages), delivered \(delivered)/\(expected) (+\(delivered - last)/s), errors \(counters.publishErrors.load(ordering: .relaxed))")
                last = delivered
            }
        }
        for driver in publisherDrivers { try await driver.finished.get() }
        let publishedAt = monotonicNanoseconds()
        // Wait for the last deliveries (or until they stop coming).
        var lastCount = -1
        var quietSince = monotonicNanoseconds()
        while counters.delivered.load(ordering: .relaxed) < expected {
            let now = monotonicNanoseconds()
            let count = counters.delivered.load(ordering: .relaxed)
            if count != lastCount {
                lastCount = count
                quietSince = now
            } else if Double(now - quietSince) / 1e9 > options.drainTimeout {
                break
            }
            try await Task.sleep(for: .milliseconds(2))
        }
        let finished = monotonicNanoseconds()
        ticker.cancel()
        progress("collecting results...")
        let cpuAfter = nodePIDs.compactMap { ProcessStats.read(pid: $0) }
        let ownAfter = ProcessStats.ownCPUMicroseconds()

        // Collect per-loop statistics on their loops.
        var latency = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
        for stats in loopStats {
            let snapshot = try await stats.eventLoop.submit { (stats.latency, stats.delivered, stats.duplicates, stats.reordered, stats.compressed) }.get()
            latency.add(snapshot.0)
            report.delivered += snapshot.1
            report.duplicates += snapshot.2
            report.reordered += snapshot.3
            report.compressedDeliveries += snapshot.4
        }
        report.published = counters.published.load(ordering: .relaxed)
        report.publishErrors = counters.publishErrors.load(ordering: .relaxed)
        report.publishSeconds = Double(publishedAt - started) / 1e9
        report.totalSeconds = Double(finished - started) / 1e9
        report.latency = latency
        report.lost = max(0, expected - (report.delivered - report.duplicates))
        report.benchCPUPercent = (ownAfter - ownBefore) / (report.totalSeconds * 1e6) * 100
        if !cpuBefore.isEmpty, cpuBefore.count == cpuAfter.count, report.delivered > 0 || report.published > 0 {
            let cpu = zip(cpuBefore, cpuAfter).map { $1.cpuMicroseconds - $0.cpuMicroseconds }.reduce(0, +)
            report.serverCPUMicroseconds = cpu
            report.serverCPUPerPublish = cpu / Double(max(1, report.published))
            let user = zip(cpuBefore, cpuAfter).map { $1.userMicroseconds - $0.userMicroseconds }.reduce(0, +)
            // Without subscribers (RPC round trips, --method), the figures are per request.
            let per = Double(report.delivered > 0 ? report.delivered : report.published)
            report.serverCPUPerDelivery = cpu / per
            report.serverUserPerDelivery = user / per
            report.serverSystemPerDelivery = (cpu - user) / per
        }
        if options.slowConsumers > 0 {
            report.slowConsumerCloses = await scrapeSlowConsumerCloses().map { $0 - (slowClosesBefore ?? 0) }
        }
        for (channel, _) in subscribers { channel.close(promise: nil) }
        for channel in slow { channel.close(promise: nil) }
        return report
    }

    /// The nodes' `switchboard_slow_consumer_closes_total`, summed (from their /metrics).
    private func scrapeSlowConsumerCloses() async -> Int? {
        var total = 0
        for url in targets {
            guard let target = try? WebSocketURL(url) else { return nil }
            let text = SpawnedProcesses.httpGet(port: target.port, path: "/metrics")
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("switchboard_slow_consumer_closes_total ") }),
                let value = Double(line.split(separator: " ").last ?? "")
            else { return nil }
            total += Int(value)
        }
        return total
    }

    private func connectSubscriber(url: String, loopStats: [LoopStats], counters: BenchCounters) async throws -> (any Channel, SubscriberState) {
        let holder = SubscriberHolder()
        let channel = try await WebSocketClientConnection.connect(
            to: WebSocketURL(url),
            eventLoopGroup: group,
            compression: options.compression,
            callbacks: WebSocketClientCallbacks(
                onText: { text, compressed in holder.state?.receivedFrame(text, compressed: compressed) },
                onClose: { _, _ in counters.closedSubscribers.add(1, ordering: .relaxed) }
            )
        )
        let stats = loopStats.first { $0.eventLoop === channel.eventLoop } ?? loopStats[0]
        let state = SubscriberState(publishers: options.publishers, stats: stats, counters: counters)
        try await channel.eventLoop.submit { holder.state = state }.get()
        return (channel, state)
    }

    /// redis-benchmark -P 16 PUBLISH to a channel every node holds (through one socket per node
    /// with a pattern no message matches, so the nodes receive and drop them cheaply).
    private func redisBaseline(redisURL: String, loopStats: [LoopStats], counters: BenchCounters) async throws -> Double {
        guard let executable = ["/usr/bin/redis-benchmark", "/usr/local/bin/redis-benchmark"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw BenchError("redis-benchmark is not installed (apt-get install -y redis-tools)")
        }
        var holders: [any Channel] = []
        for url in targets {
            let (channel, state) = try await connectSubscriber(url: url, loopStats: loopStats, counters: counters)
            try await state.call(channel, #"{"id":"b","method":"subscribe","payload":{"channel":"bench-baseline","event":"never"}}"#)
            holders.append(channel)
        }
        defer { for channel in holders { channel.close(promise: nil) } }
        let host = redisURL.split(separator: "/").dropFirst().first.map { $0.split(separator: "@").last ?? $0 } ?? "127.0.0.1:6379"
        let parts = host.split(separator: ":")
        let payload = #"{"event":"bench","data":{"p":0,"s":0,"t":0,"x":"xxxxxxxxxxxx"}}"#
        progress("redis-benchmark -P 16 PUBLISH (\(options.baselineRequests) requests, \(targets.count) node(s) subscribed)...")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-h", String(parts.first ?? "127.0.0.1"), "-p", String(parts.dropFirst().first ?? "6379"),
                             "-n", "\(options.baselineRequests)", "-P", "16", "-q", "PUBLISH", "switchboard:bench-baseline", payload]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.runWatched()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard let range = text.range(of: #"[0-9.]+ requests per second"#, options: .regularExpression),
            let value = Double(text[range].split(separator: " ").first ?? "")
        else {
            throw BenchError("could not read redis-benchmark's output: \(text)")
        }
        progress("  redis-benchmark: \(Int(value)) PUBLISH/s")
        return value
    }
}

/// Lets a callback created before its driver reach it (set once, on the connection's loop).
final class DriverHolder: @unchecked Sendable {
    var driver: PublisherDriver?
}

final class SubscriberHolder: @unchecked Sendable {
    var state: SubscriberState?
}

extension SubscriberState {
    /// Sends one request and waits for its reply (before the benchmark starts).
    func call(_ channel: any Channel, _ request: String) async throws {
        let promise = channel.eventLoop.makePromise(of: ByteBuffer.self)
        try await channel.eventLoop.submit {
            self.pendingReply = promise
            _ = WebSocketClientConnection.send(text: ByteBuffer(string: request), on: channel)
        }.get()
        let reply = try await promise.futureResult.get()
        guard !reply.readableBytesView.starts(with: #"{"error""#.utf8) else {
            throw BenchError("request failed: \(String(buffer: reply))")
        }
    }

    /// A frame from the server: a reply to `call`, or a message.
    func receivedFrame(_ text: ByteBuffer, compressed: Bool) {
        if let pending = pendingReply, text.readableBytesView.starts(with: #"{"id""#.utf8) || text.readableBytesView.starts(with: #"{"error""#.utf8) {
            pendingReply = nil
            pending.succeed(text)
            return
        }
        received(text, compressed: compressed)
    }
}
