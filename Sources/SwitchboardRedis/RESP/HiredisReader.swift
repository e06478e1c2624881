import CHiredis
import NIOCore
import Switchboard

/// hiredis's RESP2 reader: bytes in, `RESPValue`s out. After a protocol error it stays broken
/// (as hiredis does); the connection must then be closed. Public for tools and benchmarks; a
/// reader belongs to one thread at a time.
public final class HiredisReader {
    /// The bytes are not RESP.
    public struct ProtocolError: Error, CustomStringConvertible {
        public let description: String
    }

    private let reader: UnsafeMutablePointer<redisReader>

    /// `keepBuffer`: keep the read buffer between messages (hot connections) instead of
    /// freeing it whenever it empties past 16 KiB.
    public init(keepBuffer: Bool) {
        reader = redisReaderCreate()
        if keepBuffer { reader.pointee.maxbuf = 0 }
    }

    deinit {
        redisReaderFree(reader)
    }

    /// Feeds bytes from the socket.
    public func feed(_ buffer: ByteBuffer) throws {
        let status = buffer.withUnsafeReadableBytes { bytes -> Int32 in
            guard let base = bytes.baseAddress else { return REDIS_OK }
            return redisReaderFeed(reader, base.assumingMemoryBound(to: CChar.self), bytes.count)
        }
        if status != REDIS_OK { throw error() }
    }

    /// The next complete reply, or `nil` when more bytes are needed.
    public func next() throws -> RESPValue? {
        var reply: UnsafeMutableRawPointer? = nil
        guard redisReaderGetReply(reader, &reply) == REDIS_OK else { throw error() }
        guard let reply else { return nil }
        defer { freeReplyObject(reply) }
        return Self.value(reply.assumingMemoryBound(to: redisReply.self))
    }

    private func error() -> ProtocolError {
        let message = withUnsafeBytes(of: reader.pointee.errstr) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return ProtocolError(description: "Redis protocol error: \(message)")
    }

    private static func value(_ reply: UnsafeMutablePointer<redisReply>) -> RESPValue {
        let r = reply.pointee
        switch r.type {
        case REDIS_REPLY_STRING:
            return .bulkString(ByteBuffer(bytes: UnsafeRawBufferPointer(start: r.str, count: r.len)))
        case REDIS_REPLY_STATUS:
            return .simpleString(String(decoding: UnsafeRawBufferPointer(start: r.str, count: r.len), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            return .error(String(decoding: UnsafeRawBufferPointer(start: r.str, count: r.len), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            return .integer(Int64(r.integer))
        case REDIS_REPLY_ARRAY:
            return .array(elements(of: r))
        default:
            return .null
        }
    }

    /// The elements of an array reply. Its strings are copied into one shared buffer and
    /// handed out as slices: a pub/sub message (kind, channel, payload) is one allocation, not
    /// three. (The buffer is filled before any slice is taken, so nothing is copied on write.)
    private static func elements(of array: redisReply) -> [RESPValue] {
        func string(at index: Int) -> redisReply? {
            guard let child = array.element[index], child.pointee.type == REDIS_REPLY_STRING else { return nil }
            return child.pointee
        }
        var total = 0
        for index in 0..<array.elements { total += string(at: index)?.len ?? 0 }
        var shared = ByteBufferAllocator().buffer(capacity: total)
        for index in 0..<array.elements {
            if let string = string(at: index) { shared.writeBytes(UnsafeRawBufferPointer(start: string.str, count: string.len)) }
        }
        var elements: [RESPValue] = []
        elements.reserveCapacity(array.elements)
        var offset = 0
        for index in 0..<array.elements {
            if let string = string(at: index) {
                elements.append(.bulkString(shared.readableSlice(offset..<offset + string.len)))
                offset += string.len
            } else if let child = array.element[index] {
                elements.append(value(child))
            } else {
                elements.append(.null)
            }
        }
        return elements
    }
}
