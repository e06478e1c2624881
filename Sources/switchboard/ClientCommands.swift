#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import Logging
import NIOSSL
import Switchboard
import SwitchboardClient
import SwitchboardWebSocket

/// Options every client command takes.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "The node's /stream or /jsonrpc URL, ws:// or wss:// [SWITCHBOARD_URL] (default ws://127.0.0.1:8080/stream).")
    var url: String?

    @Option(help: "Token to connect with, when the node wants one [SWITCHBOARD_TOKEN].")
    var token: String?

    @Option(help: "PEM file of the certificate authority to trust for wss:// [SWITCHBOARD_CA_FILE] (default: the system's).")
    var caFile: String?

    var resolvedURL: String { Environment.resolve(url, "SWITCHBOARD_URL", "ws://127.0.0.1:8080/stream") }

    func connect(reconnect: Bool = false) async throws -> SwitchboardClient {
        var logger = Logger(label: "switchboard.client")
        logger.logLevel = .warning
        var tls: TLSConfiguration? = nil
        if let caFile = Environment.resolve(caFile, "SWITCHBOARD_CA_FILE") {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.trustRoots = .file(caFile)
            tls = configuration
        }
        let url = resolvedURL
        do {
            return try await SwitchboardClient.connect(
                to: url,
                configuration: ClientConfiguration(reconnect: reconnect, token: Environment.resolve(token, "SWITCHBOARD_TOKEN"), tls: tls),
                logger: logger
            )
        } catch {
            throw CommandFailure(Self.explain(error, url: url), exitCode: CommandFailure.cannotConnect)
        }
    }

    /// What went wrong connecting to `url`, and what to try.
    static func explain(_ error: any Error, url: String) -> String {
        switch error {
        case SwitchboardClientError.invalidURL(let message):
            return message
        case WebSocketConnectError.upgradeRefused(_, let status, let body):
            let reason = (try? JSONValue(parsing: body))?["reason"]?.stringValue ?? (try? JSONValue(parsing: body))?["message"]?.stringValue ?? body
            switch status {
            case 401: return "\(url) needs a valid token (\(reason)): give one with --token or SWITCHBOARD_TOKEN"
            case 403: return "\(url) refused this client: \(reason)"
            case 404: return "no WebSocket endpoint at \(url): HTTP 404 (\(reason)); the node serves \((try? JSONValue(parsing: body))?["paths"]?.jsonString ?? "/stream, /jsonrpc, /wsrpc")"
            default: return "no WebSocket at \(url): HTTP \(status) \(reason)"
            }
        default:
            let text = "\(error)"
            if text.contains("Connection refused") || text.contains("errno: 111") {
                return "cannot connect to \(url): connection refused — is a node running? (scripts/serve)"
            }
            if text.contains("connectTimeout") || text.contains("timed out") {
                return "cannot connect to \(url): no answer in time — is the address right?"
            }
            if text.contains("NIOSSL") || text.contains("handshake") || text.contains("certificate") {
                return "cannot connect to \(url): TLS failed (\(text)) — for a private certificate authority, give --ca-file"
            }
            return "cannot connect to \(url): \(text)"
        }
    }
}

/// A client command failed in a way the user can act on: the message goes to standard error,
/// and the process exits with `exitCode`.
struct CommandFailure: Error, CustomStringConvertible {
    /// The node answered the call with an error.
    static let rpcError: Int32 = 1
    /// The command line is wrong (ArgumentParser's code for validation errors).
    static let usage: Int32 = 64
    /// No connection could be made to the node.
    static let cannotConnect: Int32 = 69

    let description: String
    let exitCode: Int32

    init(_ description: String, exitCode: Int32) {
        self.description = description
        self.exitCode = exitCode
    }
}

/// Writes lines to standard output (or error) unbuffered, so a pipe sees each message as it comes.
enum Output {
    static func line(_ text: String) {
        write(text, to: 1)
    }

    static func error(_ text: String) {
        write(text, to: 2)
    }

    private static func write(_ text: String, to descriptor: Int32) {
        var line = text
        line.append("\n")
        line.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
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
