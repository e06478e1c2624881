#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import Foundation

/// `switchboard bench …` runs `switchboard-bench …` (built next to it): the load generator is a
/// program of its own, so that a node links none of it.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure publish throughput, fan-out, latency and memory of nodes (runs switchboard-bench; see docs/performance.md)."
    )

    @Argument(parsing: .allUnrecognized, help: "The arguments of switchboard-bench (switchboard-bench --help lists them).")
    var arguments: [String] = []

    func run() throws {
        let folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let bench = folder.appendingPathComponent("switchboard-bench").path
        guard FileManager.default.isExecutableFile(atPath: bench) else {
            throw CommandFailure("no switchboard-bench next to this program (\(bench)): build it with swift build -c release --product switchboard-bench", exitCode: CommandFailure.cannotConnect)
        }
        let argv = [bench] + arguments
        var cArguments = argv.map { strdup($0) } + [nil]
        execv(bench, &cArguments)
        throw CommandFailure("cannot run \(bench): \(String(cString: strerror(errno)))", exitCode: CommandFailure.cannotListen)
    }
}
