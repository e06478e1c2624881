import Foundation
import NIOCore
import NIOPosix
import SwitchboardProcesses
import SwitchboardRedis

/// A real Redis Cluster for tests: `primaries` × (1 + `replicas`) `redis-server`s in cluster mode
/// on free loopback ports, joined by `redis-cli --cluster create`, each stopped (or SIGKILLed) by
/// PID like any `RedisServer`.
public final class RedisCluster: @unchecked Sendable {
    /// Every server, in the order given to `redis-cli --cluster create` (primaries first).
    public let servers: [RedisServer]
    /// Where the servers keep their `nodes.conf`.
    public let directory: URL

    /// `redis+cluster://` naming every server.
    public var url: String {
        "redis+cluster://" + servers.map { "127.0.0.1:\($0.port)" }.joined(separator: ",")
    }

    private init(servers: [RedisServer], directory: URL) {
        self.servers = servers
        self.directory = directory
    }

    /// Starts the servers, creates the cluster and waits until every slot is served and every
    /// replica is online.
    /// - Parameter nodeTimeout: `cluster-node-timeout`: how long a primary may be unreachable
    ///   before its replica takes over.
    public static func start(primaries: Int = 3, replicas: Int = 1, nodeTimeout: Duration = .seconds(2)) async throws -> RedisCluster {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/redis-cli") else {
            throw RedisServer.StartError(description: "redis-cli is not installed (Debian: apt-get install -y redis-tools); the cluster tests need it")
        }
        let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("switchboard-redis-cluster-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var servers: [RedisServer] = []
        let milliseconds = Int(nodeTimeout.components.seconds * 1000 + nodeTimeout.components.attoseconds / 1_000_000_000_000_000)
        do {
            for index in 0..<(primaries * (1 + replicas)) {
                let busPort = try PortReservation.freePortOutsideEphemeralRange()
                servers.append(try await RedisServer.start(arguments: [
                    "--cluster-enabled", "yes", "--cluster-port", "\(busPort)",
                    "--cluster-config-file", directory.appendingPathComponent("nodes-\(index).conf").path,
                    "--cluster-node-timeout", "\(milliseconds)", "--dir", directory.path,
                ]))
            }
            let cluster = RedisCluster(servers: servers, directory: directory)
            let log = directory.appendingPathComponent("create.log").path
            let create = try ChildProcess(
                "/usr/bin/redis-cli",
                ["--cluster", "create"] + servers.map { "127.0.0.1:\($0.port)" } + ["--cluster-replicas", "\(replicas)", "--cluster-yes"],
                output: log
            )
            guard create.wait(timeout: .seconds(60)), create.exitCode == 0 else {
                create.stop()
                let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                throw RedisServer.StartError(description: "redis-cli --cluster create failed: \(text.suffix(2000))")
            }
            guard await cluster.waitUntilHealthy(primaries: primaries, replicas: replicas) else {
                throw RedisServer.StartError(description: "the Redis Cluster did not become healthy within 30 s")
            }
            return cluster
        } catch {
            for server in servers { server.stop() }
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
    }

    /// Waits until a node's `CLUSTER SHARDS` shows every slot served, `primaries` primaries and
    /// `replicas` online replicas each (or `timeout` passes).
    public func waitUntilHealthy(primaries: Int, replicas: Int, timeout: Duration = .seconds(30)) async -> Bool {
        await eventually(timeout: timeout) {
            guard let (topology, _) = try? await self.topology() else { return false }
            return topology.coversAllSlots && topology.shards.count == primaries && topology.shards.allSatisfy { $0.replicas.count >= replicas }
        }
    }

    /// The topology as a live node tells it, and that node.
    public func topology() async throws -> (RedisTopology, RedisServer) {
        var lastError: (any Error)?
        for server in servers where server.pid != nil {
            do {
                let reply = try await server.command(["CLUSTER", "SHARDS"])
                return (try RedisTopology.parse(shardsReply: reply, defaultHost: "127.0.0.1"), server)
            } catch {
                lastError = error
            }
        }
        throw lastError ?? RedisServer.StartError(description: "no Redis Cluster node is running")
    }

    /// The server listening on `port`.
    public func server(port: Int) -> RedisServer? {
        servers.first { $0.port == port }
    }

    /// The server that is `channel`'s primary now (the channel's slot as Switchboard names it on
    /// a cluster, `<prefix>{<channel>}`).
    public func primary(of channel: String, prefix: String = "switchboard:") async throws -> RedisServer? {
        let (topology, _) = try await topology()
        return topology.primary(for: HashSlot(key: "\(prefix){\(channel)}")).flatMap { server(port: $0.port) }
    }

    /// Stops every server and removes the directory.
    public func stop() {
        for server in servers { server.stop() }
        try? FileManager.default.removeItem(at: directory)
    }

    deinit {
        stop()
    }
}
