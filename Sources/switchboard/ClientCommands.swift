#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import Logging
import Switchboard
import SwitchboardClient

/// Options every client command takes.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "The node's /stream or /jsonrpc URL [SWITCHBOARD_URL] (default ws://127.0.0.1:8080/stream).")
    var url: String?

    var resolvedURL: String { Environment.resolve(url, "SWITCHBOARD_URL", "ws://127.0.0.1:8080/stream") }

    func connect(reconnect: Bool = false) async throws -> SwitchboardClient {
        var logger = Logger(label: "switchboard.client")
        logger.logLevel = .warning
        return try await SwitchboardClient.connect(
            to: resolvedURL,
            configuration: ClientConfiguration(reconnect: reconnect),
            logger: logger
        )
    }
}

/// Writes lines to standard output unbuffered, so a pipe sees each message as it comes.
enum Output {
    static func line(_ text: String) {
        var line = text
        line.append("\n")
        line.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(1, bytes.baseAddress! + offset, bytes.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }
}

func parseJSON(_ text: String, what: String) throws -> JSONValue {
    do {
        return try JSONValue(parsing: text)
    } catch {
        throw ValidationError("\(what) is not valid JSON (\(error)): \(text)")
    }
}

struct PublishCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Publish a message and print the server's reply.",
        discussion: "Example: switchboard publish --channel news --event created '{\"id\": 1}'"
    )

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Channel to publish on.")
    var channel: String

    @Option(help: "Event name (optional).")
    var event: String?

    @Argument(help: "The data, as JSON: a string, array, object or null.")
    var data: String

    func run() async throws {
        let value = try parseJSON(data, what: "DATA_JSON")
        let client = try await connection.connect()
        let response = try await client.publish(channel: channel, data: value, event: event)
        Output.line(response.jsonString)
        await client.close()
    }
}

struct SubscribeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "subscribe",
        abstract: "Subscribe to a channel and print one JSON message per line until interrupted."
    )

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Channel to subscribe to.")
    var channel: String

    @Option(help: "Event pattern (glob: * ? [abc] [^a] [a-z] \\x; default *).")
    var event: String?

    @Option(help: "Exit after this many messages.")
    var count: Int?

    @Flag(help: "Reconnect (and subscribe again) when the connection is lost.")
    var reconnect = false

    func run() async throws {
        let client = try await connection.connect(reconnect: reconnect)
        let messages = try await client.subscribe(channel: channel, event: event)
        var received = 0
        for try await message in messages {
            Output.line(message.json.jsonString)
            received += 1
            if let count, received >= count { break }
        }
        await client.close()
    }
}

struct CallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call",
        abstract: "Call an RPC method and print its response.",
        discussion: """
            Works over /stream and /jsonrpc (the URL's path picks the protocol). Examples:
              switchboard call info
              switchboard call subscribe '{"channel": "news"}'
              switchboard call --url ws://127.0.0.1:8080/jsonrpc publish '["news", {"id": 1}]'
            """
    )

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "Method name.")
    var method: String

    @Argument(help: "Parameters, as JSON: an object (by name); on /jsonrpc also an array (by position) or one value. Default {}.")
    var params: String?

    func run() async throws {
        let value = try params.map { try parseJSON($0, what: "PARAMS") } ?? .object([:])
        let client = try await connection.connect()
        do {
            let response = try await client.call(method, params: value)
            Output.line(response.jsonString)
        } catch let SwitchboardClientError.rpc(_, error) {
            let object: JSONObject = client.wireProtocol == .jsonRPC
                ? JSONObject([
                    .init(key: "code", value: .number(JSONNumber(error.code))),
                    .init(key: "message", value: .string(error.message)),
                ] + (error.data.map { [.init(key: "data", value: $0)] } ?? []))
                : error.json
            Output.line(JSONValue.object(["error": .object(object)]).jsonString)
            await client.close()
            throw ExitCode(1)
        } catch SwitchboardClientError.unsupported(let reason) {
            await client.close()
            throw ValidationError(reason)
        }
        await client.close()
    }
}
