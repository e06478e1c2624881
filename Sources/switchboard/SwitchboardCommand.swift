import ArgumentParser

@main
struct SwitchboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchboard",
        abstract: "WebSocket JSON-RPC and publish/subscribe across stateless nodes.",
        subcommands: [ServeCommand.self, PublishCommand.self, SubscribeCommand.self, CallCommand.self, BenchCommand.self],
        defaultSubcommand: nil
    )
}
