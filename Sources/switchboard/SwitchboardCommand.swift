#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import Switchboard

/// Exit codes: 0 done; 1 the node answered with an error (printed as JSON); 64 a wrong command
/// line; 69 no connection to the node (the message says why and what to try); 71 `serve` cannot
/// listen on its address.
@main
struct SwitchboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchboard",
        abstract: "WebSocket JSON-RPC and publish/subscribe across stateless nodes.",
        discussion: "Exit codes: 0 done, 1 the node answered with an error, 64 a wrong command line, 69 no connection to the node, 71 serve cannot listen.",
        version: SwitchboardVersion.current,
        subcommands: [ServeCommand.self, PublishCommand.self, SubscribeCommand.self, CallCommand.self, BenchCommand.self],
        defaultSubcommand: nil
    )

    static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch let failure as CommandFailure {
            Output.error("Error: \(failure.description)")
            Glibc.exit(failure.exitCode)
        } catch let invalid as ValidationError {
            // A wrong value the command itself found (a configuration key, data that is not
            // JSON): the message says what to do; the usage line would not.
            Output.error("Error: \(invalid.message)")
            Glibc.exit(CommandFailure.usage)
        } catch {
            Self.exit(withError: error)
        }
    }
}
