import SwitchboardProcesses
import Foundation
import Switchboard
import SwitchboardClient
import SwitchboardRedis
import SwitchboardTesting
import Testing

/// `scripts/cluster.sh`: Redis, three nodes and HAProxy as processes on loopback, driven through
/// the load balancer as real clients would be.
@Suite("Cluster (scripts/cluster.sh)", .serialized)
struct ClusterTests {
    /// The repository (this file is Tests/SwitchboardClusterTests/ClusterTests.swift).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A cluster on free ports, in its own state directory.
    final class Cluster {
        let lbPort: Int
        let nodePorts: [Int]
        let redisPort: Int
        let state: URL
        let environment: [String: String]

        /// A cluster on free ports (`redisPort` and `nodePort` replace one of them), brought up
        /// unless `up` is `false`.
        init(up: Bool = true, redisPort: Int? = nil, nodePort: Int? = nil, redisCluster: Bool = false) throws {
            // Ports outside the ephemeral range: tests binding port 0 in parallel cannot take them.
            // None of the given Redis's (a Redis Cluster takes `redisPort` and the five after it,
            // and starts before the nodes: a node given one of them could not listen).
            let redisPorts = redisPort.map { Set($0..<($0 + (redisCluster ? 6 : 1))) } ?? []
            var ports: Set<Int> = []
            while ports.count < 5 {
                let port = try PortReservation.freePortOutsideEphemeralRange()
                if !redisPorts.contains(port) { ports.insert(port) }
            }
            let chosen = Array(ports)
            lbPort = chosen[0]
            nodePorts = [nodePort ?? chosen[1], chosen[2], chosen[3]]
            self.redisPort = redisPort ?? chosen[4]
            state = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("switchboard-cluster-\(UUID().uuidString)")
            let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("switchboard").path
            environment = ProcessInfo.processInfo.environment.merging([
                "SWITCHBOARD_LB_PORT": "\(lbPort)",
                "SWITCHBOARD_NODE_PORTS": nodePorts.map(String.init).joined(separator: " "),
                "SWITCHBOARD_REDIS_PORT": "\(self.redisPort)",
                "SWITCHBOARD_CLUSTER_DIR": state.path,
                "SWITCHBOARD_BIN": binary,
                "SWITCHBOARD_REDIS_CLUSTER": redisCluster ? "1" : "0",
            ]) { _, new in new }
            guard up else { return }
            let output = try run("up")
            guard output.status == 0 else { throw BenchFailure("cluster.sh up failed: \(output.text)") }
            // cluster.sh has exited; what it started must still not outlive this test process.
            for pid in processes { Lifeline.watch(pid) }
        }

        /// The PIDs of what `up` started: Redis (or the Redis Cluster's servers), the nodes and HAProxy.
        var processes: [Int32] {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: state.path)) ?? []
            return files.filter { $0.hasSuffix(".pid") }.compactMap { name in
                (try? String(contentsOf: state.appendingPathComponent(name), encoding: .utf8))
                    .flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            }
        }

        /// Runs `scripts/cluster.sh command` (spawned with a clean signal mask, so that the
        /// processes it starts stop on SIGTERM) and returns its exit code and output.
        @discardableResult
        func run(_ command: String) throws -> (status: Int32, text: String) {
            try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
            let log = state.appendingPathComponent("cluster-\(command).out")
            let process = try ChildProcess(ClusterTests.root.appendingPathComponent("scripts/cluster.sh").path, [command], output: log.path, environment: environment)
            process.wait(timeout: .seconds(120))
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            return (process.exitCode ?? -1, text)
        }

        var url: String { "ws://127.0.0.1:\(lbPort)/stream" }

        func pid(ofNode index: Int) throws -> Int32 {
            let text = try String(contentsOf: state.appendingPathComponent("node\(index).pid"), encoding: .utf8)
            return Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        }

        func down() {
            let started = processes
            _ = try? run("down")
            for pid in started { Lifeline.release(pid) }
            try? FileManager.default.removeItem(at: state)
        }
    }

    struct BenchFailure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    static func metric(_ name: String, port: Int) async throws -> Double {
        let body = try await HTTPProbe.request("GET", "/metrics", port: port).body
        for line in body.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.split(separator: " ").last ?? "") ?? 0
        }
        return 0
    }

    @Test("clients through the balancer reach different nodes and exchange messages; a node's SIGTERM moves only its clients")
    func cluster() async throws {
        let cluster = try Cluster()
        defer { cluster.down() }

        // Six clients through the balancer: leastconn spreads them over the three nodes.
        var clients: [(client: SwitchboardClient, node: String, messages: SwitchboardClient.Subscription)] = []
        for _ in 0..<6 {
            let client = try await SwitchboardClient.connect(to: cluster.url, configuration: ClientConfiguration(reconnect: true))
            let node = try #require(try await client.call("info")["node"]?["id"]?.stringValue)
            clients.append((client, node, try await client.subscribe(channel: "lobby")))
        }
        #expect(Set(clients.map(\.node)).count == 3, "clients: \(clients.map(\.node))")

        let publishedBefore = try await Self.metric("switchboard_messages_published_total", port: cluster.nodePorts[1])
        // Every client publishes once; every client gets all six messages.
        for (index, entry) in clients.enumerated() {
            try await entry.client.publish(channel: "lobby", data: .string("hello \(index)"))
        }
        var iterators = clients.map { $0.messages.makeAsyncIterator() }
        for i in iterators.indices {
            var seen: [String] = []
            for _ in 0..<6 { seen.append(try #require(try await iterators[i].next()?.data.stringValue)) }
            #expect(Set(seen) == Set((0..<6).map { "hello \($0)" }))
        }
        let onNode2 = clients.filter { $0.node == "node2" }.count
        #expect(try await Self.metric("switchboard_messages_published_total", port: cluster.nodePorts[1]) == publishedBefore + Double(onNode2))
        #expect(try await Self.metric("switchboard_connections", port: cluster.nodePorts[1]) == Double(onNode2))

        // SIGTERM node1: its clients get 1001, reconnect through the balancer to the others and
        // subscribe again; the other clients keep their connection and miss nothing.
        let moved = clients.indices.filter { clients[$0].node == "node1" }
        let stayed = clients.indices.filter { clients[$0].node != "node1" }
        kill(try cluster.pid(ofNode: 1), SIGTERM)
        #expect(await eventually(timeout: .seconds(20)) {
            var settled = true
            for index in moved where clients[index].client.isConnected {
                let node = (try? await clients[index].client.call("info"))?["node"]?["id"]?.stringValue
                settled = settled && node != nil && node != "node1"
            }
            return settled && moved.allSatisfy { clients[$0].client.isConnected }
        })
        for index in moved {
            #expect(clients[index].client.lastCloseCode == 1001)
        }
        for index in stayed {
            #expect(try await clients[index].client.call("info")["node"]?["id"]?.stringValue == clients[index].node)
            #expect(clients[index].client.lastCloseCode == nil)
        }
        let survivors = [cluster.nodePorts[1], cluster.nodePorts[2]]
        #expect(try await eventually {
            var total = 0.0
            for port in survivors { total += try await Self.metric("switchboard_connections", port: port) }
            return total == 6
        })
        // Publish again: every client, moved or not, gets it.
        try await clients[stayed[0]].client.publish(channel: "lobby", data: "after")
        for i in iterators.indices {
            #expect(try await iterators[i].next()?.data == "after")
        }
        for entry in clients { await entry.client.close() }
    }

    @Test("SWITCHBOARD_REDIS_CLUSTER=1: the nodes run on a six-server Redis Cluster; clients through the balancer exchange messages; down stops every server by PID")
    func onRedisCluster() async throws {
        // Six consecutive free ports for the Redis Cluster.
        var base = 0
        for _ in 0..<50 {
            let candidate = try PortReservation.freePortOutsideEphemeralRange()
            if candidate + 5 < 65536, (0..<6).allSatisfy({ (try? PortReservation(port: candidate + $0))?.release() != nil }) {
                base = candidate
                break
            }
        }
        try #require(base != 0)
        let cluster = try Cluster(redisPort: base, redisCluster: true)
        defer { cluster.down() }
        let started = cluster.processes
        #expect(started.count == 10, "six redis-servers, three nodes, HAProxy: \(started)")
        let info = try await HTTPProbe.request("GET", "/readyz", port: cluster.nodePorts[0]).body
        #expect(try JSONValue(parsing: info)["broker_shards"]?.arrayValue?.count == 3)

        var clients: [(client: SwitchboardClient, messages: SwitchboardClient.Subscription)] = []
        for _ in 0..<3 {
            let client = try await SwitchboardClient.connect(to: cluster.url)
            clients.append((client, try await client.subscribe(channel: "lobby")))
        }
        try await clients[0].client.publish(channel: "lobby", data: "over the cluster")
        for entry in clients {
            var iterator = entry.messages.makeAsyncIterator()
            #expect(try await iterator.next()?.data == "over the cluster")
            await entry.client.close()
        }
        cluster.down()
        #expect(started.allSatisfy { kill($0, 0) != 0 }, "down left a process running")
    }

    @Test("up refuses a taken port, names it and starts nothing; down never touches a Redis up did not start")
    func foreignRedisSurvives() async throws {
        let foreign = try await RedisServer.start()
        defer { foreign.stop() }
        _ = try await foreign.command(["SET", "precious", "data"])
        let cluster = try Cluster(up: false, redisPort: foreign.port)
        let refused = try cluster.run("up")
        #expect(refused.status != 0)
        #expect(refused.text.contains("port \(foreign.port) already in use"), "\(refused.text)")
        #expect(!refused.text.contains("cluster up:"))
        #expect(cluster.processes.isEmpty, "started \(cluster.processes)")
        let down = try cluster.run("down")
        #expect(down.status == 0)
        #expect(try await foreign.command(["GET", "precious"]).string == "data", "the foreign Redis lost its data")
        cluster.down()

        // A node port another server listens on: refused the same way.
        let squatter = try PortReservation(port: try PortReservation.freePortOutsideEphemeralRange())
        defer { squatter.release() }
        squatter.listen()
        let second = try Cluster(up: false, nodePort: squatter.port)
        let output = try second.run("up")
        #expect(output.status != 0)
        #expect(output.text.contains("port \(squatter.port) already in use"), "\(output.text)")
        #expect(second.processes.isEmpty)
        second.down()
    }
}
