import Foundation
import SwitchboardProcesses
import Switchboard
import SwitchboardTesting
import Testing

/// README's "Several nodes on one Redis" block, run as written (on free ports, with the built
/// binary in place of `scripts/serve`'s build): pasted into a shell, it must work.
@Suite("README's recipes", .serialized)
struct ReadmeRecipeTests {
    /// The first `sh` block after `heading` in README.md.
    static func block(after heading: String) throws -> String {
        let readme = try String(contentsOf: CommandLineTests.repository.appendingPathComponent("README.md"), encoding: .utf8)
        guard let section = readme.range(of: heading), let start = readme.range(of: "```sh\n", range: section.upperBound..<readme.endIndex),
              let end = readme.range(of: "```", range: start.upperBound..<readme.endIndex)
        else { throw CocoaError(.fileReadCorruptFile) }
        return String(readme[start.upperBound..<end.lowerBound])
    }

    @Test("Several nodes on one Redis: the subscriber on one node gets the publish from the other and the raw Redis PUBLISH")
    func severalNodes() throws {
        var recipe = try Self.block(after: "## Several nodes on one Redis")
        let binary = CommandLineTests.executable.path
        // Through placeholders: a free port may contain another original's digits.
        let ports = try (0..<3).map { _ in try PortReservation.freePortOutsideEphemeralRange() }
        for (index, original) in ["6380", "8081", "8082"].enumerated() {
            recipe = recipe.replacingOccurrences(of: original, with: "@PORT\(index)@")
        }
        for (index, port) in ports.enumerated() {
            recipe = recipe.replacingOccurrences(of: "@PORT\(index)@", with: "\(port)")
        }
        recipe = recipe.replacingOccurrences(of: "scripts/serve", with: "\(binary) serve").replacingOccurrences(of: "scripts/switchboard", with: binary)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("recipe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        // `%1 %2 %3` name the Redis and the nodes; the subscriber (%4) is waited for, then what
        // the recipe started is stopped. The shell runs in a session of its own (setsid), so that
        // whatever it left behind, if it fails, is killed with its process group.
        let script = "cd \(folder.path)\n" + recipe + "wait %4\nkill %1 %2 %3\nwait\n"
        let printedFile = folder.appendingPathComponent("out.txt")
        // A child with a clean signal mask (ChildProcess), so that the recipe's `kill` stops what it started.
        let shell = try ChildProcess("/usr/bin/setsid", ["/usr/bin/timeout", "-k", "5", "120", "/bin/bash", "-c", script], output: printedFile.path)
        let finished = shell.wait(timeout: .seconds(130))
        kill(-shell.pid, SIGKILL)
        let printed = (try? String(contentsOf: printedFile, encoding: .utf8)) ?? ""
        let lines = printed.split(separator: "\n").compactMap { try? JSONValue(parsing: String($0)) }
        #expect(lines.contains(["channel": "news", "event": "", "data": "from the other node"]), "\(printed)")
        #expect(lines.contains(["channel": "news", "event": "e", "data": 1]), "\(printed)")
        #expect(finished && shell.exitCode == 0, "\(printed)")
    }
}
