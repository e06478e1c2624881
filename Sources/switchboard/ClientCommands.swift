#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import Foundation
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

    @Option(help: "Wait up to this many seconds for a node that is not up yet (one just started in the background, say) [SWITCHBOARD_WAIT] (default 0: fail at once).")
    var wait: Double?

    var resolvedURL: String { Environment.resolve(url, "SWITCHBOARD_URL", "ws://127.0.0.1:8080/stream") }

    /// Connects; with `--wait`, retries while no node answers, up to that long, saying so once.
    func connect(reconnect: Bool = false) async throws -> SwitchboardClient {
        let seconds = (try? Environment.resolve(wait, "SWITCHBOARD_WAIT", 0) { Double($0) }) ?? 0
        guard seconds > 0 else { return try await connectOnce(reconnect: reconnect) }
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        var said = false
        while true {
            do {
                return try await connectOnce(reconnect: reconnect)
            } catch let failure as CommandFailure where failure.retryable && ContinuousClock.now < deadline {
                if !said {
                    Output.error("waiting for \(resolvedURL) (up to \(Int(seconds)) s): \(failure.description)")
                    said = true
                }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    private func connectOnce(reconnect: Bool) async throws -> SwitchboardClient {
        var logger = Logger(label: "switchboard.client")
        // With reconnection on, the client says on standard error when it loses the node and when
        // it is back (subscriptions restored).
        logger.logLevel = reconnect ? .info : .warning
        var tls: TLSConfiguration? = nil
        if let caFile = Environment.resolve(caFile, "SWITCHBOARD_CA_FILE") {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.trustRoots = .file(caFile)
            tls = configuration
        }
        let url = resolvedURL
        // The CLI speaks /stream and /jsonrpc; a /wsrpc socket would take its commands and answer
        // something else.
        if let target = try? WebSocketURL(url).target, target.split(separator: "?").first?.hasSuffix("/wsrpc") == true {
            throw CommandFailure("the CLI speaks /stream and /jsonrpc, not /wsrpc (\(url)): use the node's /stream URL", exitCode: CommandFailure.usage)
        }
        do {
            return try await SwitchboardClient.connect(
                to: url,
                configuration: ClientConfiguration(reconnect: reconnect, token: Environment.resolve(token, "SWITCHBOARD_TOKEN"), tls: tls),
                logger: logger
            )
        } catch SwitchboardClientError.invalidURL(let message) {
            throw CommandFailure(message, exitCode: CommandFailure.usage)
        } catch {
            var failure = CommandFailure(Self.explain(error, url: url), exitCode: CommandFailure.cannotConnect)
            failure.retryable = Self.isUnreachable(error)
            throw failure
        }
    }

    /// Connects with reconnection on, waiting for the node with backoff (0.25 s doubling to
    /// 5 s) while none answers, and saying so on standard error. Refusals (a bad URL, a wrong
    /// path, a token) fail at once: waiting would not change them.
    func connectWaiting() async throws -> SwitchboardClient {
        var delay = 0.25
        var said = false
        while true {
            do {
                let client = try await connect(reconnect: true)
                if said { Output.error("connected to \(resolvedURL)") }
                return client
            } catch let failure as CommandFailure where failure.retryable {
                if !said || delay >= 5 {
                    Output.error("\(failure.description); retrying in \(delay < 1 ? "\(Int(delay * 1000)) ms" : "\(Int(delay)) s") (Ctrl-C to stop)")
                    said = true
                }
                try await Task.sleep(for: .milliseconds(Int(delay * 1000)))
                delay = min(delay * 2, 5)
            }
        }
    }

    /// `true` when nothing answered at the address (as opposed to a refusal by a node).
    static func isUnreachable(_ error: any Error) -> Bool {
        if case WebSocketConnectError.upgradeRefused(_, let status, _) = error { return status == 503 }
        if error is SwitchboardClientError { return false }
        let text = "\(error)"
        return text.contains("Connection refused") || text.contains("errno: 111") || text.contains("connectTimeout")
            || text.contains("timed out") || text.contains("Connection reset") || text.contains("closed")
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
    /// `serve` could not listen on its address (taken, or not this machine's).
    static let cannotListen: Int32 = 71

    let description: String
    let exitCode: Int32
    /// The node could not be reached (nothing listening, no answer, a node draining): trying
    /// again later may work.
    var retryable = false

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
        DescriptorOutput.write(text + "\n", to: descriptor)
    }
}

func parseJSON(_ text: String, what: String) throws -> JSONValue {
    do {
        return try JSONValue(parsing: text)
    } catch {
        let shown = text.count > 200 ? "\(text.prefix(200))…" : text
        throw ValidationError("\(what) is not valid JSON (\(error)): \(shown)\nA string needs quotes: '\"hello\"'. Give - to read standard input, @FILE to read a file.")
    }
}

/// What the node's refusal of `channel` means, for a person: what the node said (a permission
/// refusal with the rule's reason; the channel-name rules when the name breaks them); the
/// broker's state only for a broker refusal that gives no reason.
func explainRefusal(_ error: RPCError, channel: String, url: String) -> String {
    let problem = error.errors?["channel"]?.stringValue
    if let problem, problem.hasPrefix("Permission denied") || error.code == RPCError.Code.permissionDenied {
        return "the node refused the channel \"\(channel)\": \(problem)" + (error.reason.map { " (\($0))" } ?? "")
    }
    if let nameProblem = ChannelName.problem(channel) {
        return "the node refused the channel \"\(channel)\": \(nameProblem)"
    }
    if let reason = error.reason {
        return "the node refused the channel \"\(channel)\": \(reason)"
    }
    if problem == RPCError(.cannotPublish).errors?["channel"]?.stringValue || problem == RPCError(.cannotSubscribe).errors?["channel"]?.stringValue {
        return "the node refused the channel \"\(channel)\" although its name is valid: its broker may be unavailable — see \(readyURL(of: url))"
    }
    return "the node refused the channel \"\(channel)\": \(error.summary)"
}

/// The `/readyz` URL of the node behind a WebSocket URL.
func readyURL(of url: String) -> String {
    var http = url.hasPrefix("wss://") ? "https://" + url.dropFirst(6) : url.hasPrefix("ws://") ? "http://" + url.dropFirst(5) : url
    if let scheme = http.range(of: "://"), let slash = http[scheme.upperBound...].firstIndex(of: "/") {
        http = String(http[..<slash])
    }
    return http + "/readyz"
}

/// A node's error reply as one JSON line, in the shape of the client's protocol.
func errorLine(_ error: RPCError, client: SwitchboardClient) -> String {
    let object: JSONObject = client.wireProtocol == .jsonRPC
        ? JSONObject([
            .init(key: "code", value: .number(JSONNumber(error.code))),
            .init(key: "message", value: .string(error.message)),
        ] + (error.data.map { [.init(key: "data", value: $0)] } ?? []))
        : error.json
    return JSONValue.object(["error": .object(object)]).jsonString
}

/// Prints a node's error reply as JSON on standard output and its explanation on standard
/// error, and fails with exit code 1.
func failRPC(_ error: RPCError, channel: String?, client: SwitchboardClient, url: String) -> CommandFailure {
    Output.line(errorLine(error, client: client))
    let explanation = channel.map { explainRefusal(error, channel: $0, url: url) } ?? error.summary
    return CommandFailure(explanation, exitCode: CommandFailure.rpcError)
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

    @Argument(help: "The data, as JSON: a string, array, object or null; - reads it from standard input, @FILE from a file.")
    var data: String

    func run() async throws {
        let value = try DataArgument.value(of: data, what: "DATA")
        let client = try await connection.connect()
        do {
            let response = try await client.publish(channel: channel, data: value, event: event)
            Output.line(response.jsonString)
        } catch SwitchboardClientError.rpc(_, let error) {
            await client.close()
            throw failRPC(error, channel: channel, client: client, url: connection.resolvedURL)
        }
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

    @Flag(help: "Reconnect (and subscribe again) when the connection is lost; on a history channel, from the last message seen.")
    var reconnect = false

    @Option(help: "On a history channel, first print what was published after this position: OFFSET@EPOCH (from a printed message's offset and epoch), or OFFSET.")
    var since: String?

    func run() async throws {
        var position: StreamPosition? = nil
        if let since {
            let parts = since.split(separator: "@", maxSplits: 1)
            guard let offset = parts.first.flatMap({ StreamOffset(String($0)) }) else {
                throw ValidationError("--since takes OFFSET@EPOCH (as printed in a message's offset and epoch), or OFFSET; got \(since)")
            }
            position = StreamPosition(offset: offset, epoch: parts.count == 2 ? String(parts[1]) : "")
        }
        let client = reconnect ? try await connection.connectWaiting() : try await connection.connect()
        let messages: SwitchboardClient.Subscription
        do {
            messages = try await client.subscribe(channel: channel, event: event, since: position)
        } catch SwitchboardClientError.rpc(_, let error) {
            await client.close()
            throw failRPC(error, channel: channel, client: client, url: connection.resolvedURL)
        }
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
            Output.line(errorLine(error, client: client))
            await client.close()
            throw ExitCode(1)
        } catch SwitchboardClientError.unsupported(let reason) {
            await client.close()
            throw ValidationError(reason)
        }
        await client.close()
    }
}
