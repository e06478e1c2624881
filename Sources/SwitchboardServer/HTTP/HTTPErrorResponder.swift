import NIOCore
import NIOHTTP1

/// Answers requests the HTTP parser rejects (a malformed request line, duplicate
/// `Content-Length`, `Content-Length` with `Transfer-Encoding`, headers over the limit) with 400
/// or 431 and a JSON body, then closes: such a client gets an answer and holds no descriptor.
/// Sits right after the request decoder, so its answer goes out as raw bytes.
final class HTTPErrorResponder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    typealias OutboundOut = ByteBuffer

    private var answered = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parseError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        guard !answered else { return }
        answered = true
        let (status, message): (String, String) = switch parseError {
        case .headerOverflow: ("431 Request Header Fields Too Large", "the request headers are too large (at most 80 KiB)")
        case .invalidContentLength, .unexpectedContentLength: ("400 Bad Request", "the request's Content-Length is invalid (one, without Transfer-Encoding)")
        default: ("400 Bad Request", "malformed HTTP request (\(parseError))")
        }
        let body = #"{"message":"\#(message)"}"#
        let response = "HTTP/1.1 \(status)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: response))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }
}
