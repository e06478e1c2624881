import Foundation
import SwitchboardProcesses
import Switchboard
import SwitchboardTesting
import Testing

/// README's table of command-line errors, row by row: each situation is made to happen and the
/// command's message and exit code must be the table's, so the table cannot drift.
@Suite("README's error table", .serialized)
struct ReadmeErrorTableTests {
    struct Row: Sendable, CustomStringConvertible {
        let situation: String
        let message: String
        let exit: Int32
        var description: String { situation }
    }

    /// The rows of the table under "When something goes wrong" in README.md.
    static func rows() throws -> [Row] {
        let readme = try String(contentsOf: CommandLineTests.repository.appendingPathComponent("README.md"), encoding: .utf8)
        guard let start = readme.range(of: "| Situation | Message | Exit |") else { return [] }
        var rows: [Row] = []
        for line in readme[start.upperBound...].split(separator: "\n").dropFirst() {
            guard line.hasPrefix("|") else { break }
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 4, let exit = Int32(cells[3]) else { continue }
            rows.append(Row(situation: cells[1], message: cells[2].trimmingCharacters(in: CharacterSet(charactersIn: "`")), exit: exit))
        }
        return rows
    }

    /// Runs the executable; returns its exit code and standard error.
    static func run(_ arguments: [String]) throws -> (status: Int32, errors: String) {
        let process = Process()
        let errors = Pipe()
        process.executableURL = CommandLineTests.executable
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.runWatched()
        let data = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Makes the row's situation happen; returns the command's exit code, its message, and the
    /// address the table's `127.0.0.1:8080` stands for.
    static func happen(_ row: Row) async throws -> (status: Int32, message: String, address: String) {
        switch row.situation {
        case "no node listening":
            let port = try PortReservation.freePort()
            let (status, errors) = try run(["publish", "--url", "ws://127.0.0.1:\(port)/stream", "--channel", "news", #""x""#])
            return (status, errors, "127.0.0.1:\(port)")
        case "wrong path":
            let node = try await CommandLineTests.Server()
            defer { node.stop() }
            let (status, errors) = try run(["call", "--url", "ws://127.0.0.1:\(node.port)/nope", "info"])
            return (status, errors, "127.0.0.1:\(node.port)")
        case "`http://` URL":
            let (status, errors) = try run(["call", "--url", "http://127.0.0.1:8080/stream", "info"])
            return (status, errors, "127.0.0.1:8080")
        case "a `/wsrpc` URL":
            let node = try await CommandLineTests.Server()
            defer { node.stop() }
            let (status, errors) = try run(["call", "--url", "ws://127.0.0.1:\(node.port)/wsrpc", "session"])
            return (status, errors, "127.0.0.1:\(node.port)")
        case "bad channel name":
            let node = try await CommandLineTests.Server()
            defer { node.stop() }
            let (status, errors) = try run(["publish", "--url", node.url, "--channel", "a b", #""x""#])
            return (status, errors, "127.0.0.1:\(node.port)")
        case "Redis down":
            let redis = try await RedisServer.start()
            let node = try await CommandLineTests.Server(arguments: ["--redis", redis.url])
            defer { node.stop() }
            #expect(await eventually { (try? await HTTPProbe.request("GET", "/readyz", port: node.port).status) == 200 })
            redis.stop()
            #expect(await eventually { (try? await HTTPProbe.request("GET", "/readyz", port: node.port).status) == 503 })
            let (status, errors) = try run(["publish", "--url", node.url, "--channel", "news", #""x""#])
            return (status, errors, "127.0.0.1:\(node.port)")
        case "data not JSON":
            let (status, errors) = try run(["publish", "--channel", "news", "hello"])
            return (status, errors, "127.0.0.1:8080")
        case "`serve` on a taken port":
            let node = try await CommandLineTests.Server()
            defer { node.stop() }
            let (status, errors) = try run(["serve", "--port", "\(node.port)"])
            return (status, errors, "127.0.0.1:\(node.port)")
        default:
            Issue.record("README's error table has a row this test cannot make happen: \(row.situation); add it here")
            return (0, "", "")
        }
    }

    @Test("every row: the message (… stands for any text) and the exit code are the table's", arguments: try rows())
    func row(_ row: Row) async throws {
        let (status, message, address) = try await Self.happen(row)
        #expect(status == row.exit, "\(row.situation): exit \(status), message \(message)")
        let expected = row.message.replacingOccurrences(of: "127.0.0.1:8080", with: address)
        var rest = Substring(message)
        for fragment in expected.components(separatedBy: "…").map({ $0.trimmingCharacters(in: .whitespaces) }) where !fragment.isEmpty {
            guard let found = rest.range(of: fragment) else {
                Issue.record("\(row.situation): \"\(fragment)\" not in the message: \(message)")
                return
            }
            rest = rest[found.upperBound...]
        }
    }

    @Test("the table has every situation the tests know")
    func complete() throws {
        #expect(try Self.rows().count == 8)
    }
}
