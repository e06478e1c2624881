import NIOCore
import NIOPosix

/// One plain HTTP/1.1 request over a raw TCP connection (`Connection: close`), for tests.
public enum HTTPProbe {
    /// The status code, headers (lower-cased names) and body of one response.
    public struct Response: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: String
    }

    /// Sends `method path` with `body` to `host:port` and reads the whole response.
    public static func request(
        _ method: String = "GET",
        _ path: String,
        port: Int,
        host: String = "127.0.0.1",
        body: String = "",
        headers: [String: String] = [:]
    ) async throws -> Response {
        var request = "\(method) \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nConnection: close\r\nContent-Length: \(body.utf8.count)\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "\r\n" + body
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        var received = ByteBuffer()
        try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: request))
            for try await var chunk in inbound { received.writeBuffer(&chunk) }
        }
        let text = String(buffer: received)
        guard let split = text.firstRange(of: "\r\n\r\n") else { return Response(status: 0, headers: [:], body: text) }
        let head = text[..<split.lowerBound].split(separator: "\r\n")
        let status = head.first.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
        var fields: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingPrefix(" ").description
        }
        var body = String(text[split.upperBound...])
        if fields["transfer-encoding"] == "chunked" { body = dechunk(body) }
        return Response(status: status, headers: fields, body: body)
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
