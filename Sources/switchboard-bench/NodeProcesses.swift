import Foundation
import SwitchboardProcesses

/// Nodes (and a Redis) the benchmark starts itself on free loopback ports, and stops by PID.
final class SpawnedProcesses: @unchecked Sendable {
    struct Node {
        let process: ChildProcess
        let port: Int
        var url: String { "ws://127.0.0.1:\(port)/stream" }
    }

    private(set) var nodes: [Node] = []
    private(set) var redis: ChildProcess?
    private(set) var redisPort: Int?
    let directory: URL

    init() throws {
        directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("switchboard-bench-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// Starts redis-server on a free port.
    func startRedis() throws -> Int {
        guard let executable = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw BenchError("redis-server is not installed (apt-get install -y redis-server)")
        }
        let port = try PortReservation.freePort()
        redis = try ChildProcess(executable, ["--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--loglevel", "warning"])
        redisPort = port
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if Self.canConnect(port: port) { return port }
            usleep(20_000)
        }
        throw BenchError("redis-server did not start on port \(port)")
    }

    /// Starts `count` nodes (`nodeExecutable serve`) on Redis at `redisURL` (in-process broker if nil).
    func startNodes(_ count: Int, nodeExecutable: String, redisURL: String?, extraArguments: [String]) throws {
        for index in 0..<count {
            let log = directory.appendingPathComponent("node-\(index).log")
            var arguments = ["serve", "--port", "0", "--log-level", "info", "--node-id", "bench-\(index)"] + extraArguments
            if let redisURL { arguments += ["--redis", redisURL] }
            let process = try ChildProcess(nodeExecutable, arguments, output: log.path)
            let deadline = Date().addingTimeInterval(30)
            var port: Int?
            while port == nil, Date() < deadline {
                let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                if let range = text.range(of: #"address=127\.0\.0\.1:\d+"#, options: .regularExpression) {
                    port = Int(text[range].split(separator: ":").last ?? "")
                } else {
                    guard process.isRunning else { throw BenchError("node \(index) exited: \(text)") }
                    usleep(50_000)
                }
            }
            guard let port else { throw BenchError("node \(index) did not start") }
            nodes.append(Node(process: process, port: port))
        }
        // Wait until every node is ready (Redis subscriptions up).
        for (index, node) in nodes.enumerated() {
            let deadline = Date().addingTimeInterval(30)
            while !Self.isReady(port: node.port) {
                guard Date() < deadline else {
                    // The log goes with the directory when the bench stops: say what it holds.
                    let log = (try? String(contentsOf: directory.appendingPathComponent("node-\(index).log"), encoding: .utf8)) ?? ""
                    let tail = log.split(separator: "\n").suffix(10).joined(separator: "\n")
                    let answer = Self.httpGet(port: node.port, path: "/readyz").split(separator: "\r\n").last ?? "no answer"
                    throw BenchError("node \(index) on port \(node.port) is not ready after 30 s (/readyz: \(answer); running: \(node.process.isRunning)); its log ends:\n\(tail)")
                }
                usleep(50_000)
            }
        }
    }

    func stopAll() {
        for node in nodes { node.process.signal(SIGTERM) }
        for node in nodes { node.process.stop(grace: .seconds(10)) }
        redis?.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// A connected TCP socket to 127.0.0.1:`port` (the caller closes it), or `nil`.
    private static func connectLoopback(port: Int) -> Int32? {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else {
            close(descriptor)
            return nil
        }
        return descriptor
    }

    static func canConnect(port: Int) -> Bool {
        guard let descriptor = connectLoopback(port: port) else { return false }
        close(descriptor)
        return true
    }

    static func isReady(port: Int) -> Bool {
        httpGet(port: port, path: "/readyz").contains("\"ready\":true")
    }

    /// A plain HTTP/1.0 GET over a raw socket; the whole response as text ("" on failure).
    static func httpGet(port: Int, path: String) -> String {
        guard let descriptor = connectLoopback(port: port) else { return "" }
        defer { close(descriptor) }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        guard write(descriptor, request, request.count) == request.count else { return "" }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(descriptor, &buffer, buffer.count)
            if count <= 0 { break }
            response.append(contentsOf: buffer[0..<count])
        }
        return String(decoding: response, as: UTF8.self)
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
