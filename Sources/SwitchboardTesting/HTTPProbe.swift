import NIOCore
import NIOPosix
import Synchronization

/// A flag set once, from any thread.
private final class ManagedAtomicFlag: Sendable {
    private let value = Atomic(false)
    func set() { value.store(true, ordering: .relaxed) }
    var isSet: Bool { value.load(ordering: .relaxed) }
}

/// One plain HTTP/1.1 request over a raw TCP connection (`Connection: close`), for tests.
public enum HTTPProbe {
    /// The status code, headers (lower-cased names) and body of one response.
    public struct Response: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: String
    }

    /// Sends `method path` with `body` to `host:port` and reads the whole response (for a 101,
    /// the head only).
    public static func request(
        _ method: String = "GET",
        _ path: String,
        port: Int,
        host: String = "127.0.0.1",
        body: String = "",
        headers: [String: String] = [:]
    ) async throws -> Response {
        var request = "\(method) \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\n"
        if headers.keys.contains(where: { $0.lowercased() == "connection" }) == false { request += "Connection: close\r\n" }
        request += "Content-Length: \(body.utf8.count)\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "\r\n" + body
        return try await raw(request, port: port, host: host)
    }

    /// Sends `text` as it is (a malformed or unfinished request, say) and reads the answer until
    /// the server closes, the response is complete, or `timeout` passes.
    public static func raw(_ text: String, port: Int, host: String = "127.0.0.1", timeout: Duration = .seconds(10)) async throws -> Response {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let deadline = channel.channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) { channel.channel.close(promise: nil) }
        defer { deadline.cancel() }
        var received = ByteBuffer()
        try? await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: text))
            for try await var chunk in inbound {
                received.writeBuffer(&chunk)
                if let response = parse(String(buffer: received)), response.complete { break }
            }
        }
        return parse(String(buffer: received))?.response ?? Response(status: 0, headers: [:], body: String(buffer: received))
    }

    /// What a connection saw before the server closed it.
    public struct Closing: Sendable {
        /// `true` when the server closed the connection within the time allowed.
        public var closed: Bool
        /// How long it stayed open.
        public var elapsed: Duration
        /// Everything the server sent.
        public var received: String
    }

    /// Opens a TCP connection, sends `text` (nothing, a partial request…), and waits for the
    /// server to close it, for `timeout` at most.
    public static func waitForClose(sending text: String = "", port: Int, host: String = "127.0.0.1", timeout: Duration) async throws -> Closing {
        let started = ContinuousClock.now
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let timedOut = ManagedAtomicFlag()
        let deadline = channel.channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            timedOut.set()
            channel.channel.close(promise: nil)
        }
        defer { deadline.cancel() }
        var received = ByteBuffer()
        try? await channel.executeThenClose { inbound, outbound in
            if !text.isEmpty { try await outbound.write(ByteBuffer(string: text)) }
            for try await var chunk in inbound { received.writeBuffer(&chunk) }
        }
        return Closing(closed: !timedOut.isSet, elapsed: ContinuousClock.now - started, received: String(buffer: received))
    }

    /// The response in `text`, and whether it is complete (a 101, or a body of its length).
    private static func parse(_ text: String) -> (response: Response, complete: Bool)? {
        guard let split = text.firstRange(of: "\r\n\r\n") else { return nil }
        let head = text[..<split.lowerBound].split(separator: "\r\n")
        let status = head.first.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
        var fields: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingPrefix(" ").description
        }
        var body = String(text[split.upperBound...])
        var complete = status == 101
        if let length = fields["content-length"].flatMap(Int.init) { complete = complete || body.utf8.count >= length }
        if fields["transfer-encoding"] == "chunked" {
            complete = body.hasSuffix("0\r\n\r\n")
            body = dechunk(body)
        }
        return (Response(status: status, headers: fields, body: body), complete)
    }

    private static func dechunk(_ text: String) -> String {
        var rest = Substring(text)
        var output = ""
        while let lineEnd = rest.firstRange(of: "\r\n") {
            guard let size = Int(rest[..<lineEnd.lowerBound], radix: 16), size > 0 else { break }
            let start = lineEnd.upperBound
            let utf8 = rest.utf8
            let end = utf8.index(start, offsetBy: size)
            output += String(rest[start..<end])
            rest = rest[end...].dropFirst(2)
        }
        return output
    }
}
