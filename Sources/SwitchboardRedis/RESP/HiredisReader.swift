import CHiredis
import NIOCore
import Switchboard

/// hiredis's RESP2 reader: bytes in, `RESPValue`s out. After a protocol error it stays broken
/// (as hiredis does); the connection must then be closed. Public for tools and benchmarks; a
/// reader belongs to one thread at a time.
///
/// hiredis parses; it builds no reply tree. Its object functions are ours (`ReplyTape`): each
/// value is one entry of a reused list and each string's bytes go to one reused buffer, so a
/// reply costs the allocations of its result only: a pub/sub message (kind, channel, payload) is
/// one buffer the three strings are slices of, and one array.
public final class HiredisReader {
    /// The bytes are not RESP.
    public struct ProtocolError: Error, CustomStringConvertible {
        public let description: String
    }

    private let reader: UnsafeMutablePointer<redisReader>
    private let tape = ReplyTape()

    /// `keepBuffer`: keep the read buffer between messages (hot connections) instead of
    /// freeing it whenever it empties past 16 KiB.
    public init(keepBuffer: Bool) {
        reader = redisReaderCreateWithFunctions(ReplyTape.functions)
        if keepBuffer { reader.pointee.maxbuf = 0 }
        reader.pointee.privdata = Unmanaged.passUnretained(tape).toOpaque()
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

    /// A reply, with a pub/sub message told apart: its channel and payload are slices of one
    /// buffer, and no array is built for it.
    public enum Reply: Sendable, Equatable {
        case value(RESPValue)
        /// `["message", channel, payload]`, or `["smessage", …]` (`sharded`).
        case message(channel: ByteBuffer, payload: ByteBuffer, sharded: Bool)

        /// The reply as a `RESPValue` (a message as its three-element array).
        public var value: RESPValue {
            switch self {
            case .value(let value):
                value
            case .message(let channel, let payload, let sharded):
                .array([.bulkString(ByteBuffer(string: sharded ? "smessage" : "message")), .bulkString(channel), .bulkString(payload)])
            }
        }
    }

    /// The next complete reply, a pub/sub message told apart, or `nil` when more bytes are
    /// needed: the read path of a connection (a message costs one buffer).
    public func nextReply() throws -> Reply? {
        guard try readReply() else { return nil }
        defer { tape.finish() }
        if let message = tape.message() { return message }
        return .value(tape.value())
    }

    /// The next complete reply, or `nil` when more bytes are needed.
    public func next() throws -> RESPValue? {
        guard try readReply() else { return nil }
        defer { tape.finish() }
        return tape.value()
    }

    /// Lets hiredis read on; `true` once a whole reply is on the tape.
    private func readReply() throws -> Bool {
        var reply: UnsafeMutableRawPointer? = nil
        guard redisReaderGetReply(reader, &reply) == REDIS_OK else {
            tape.reset()
            throw error()
        }
        return reply != nil
    }

    private func error() -> ProtocolError {
        let message = withUnsafeBytes(of: reader.pointee.errstr) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return ProtocolError(description: "Redis protocol error: \(message)")
    }
}

/// The reply hiredis is reading, as its object functions report it: one entry per value in
/// pre-order (an array, then its elements), strings' bytes appended to one buffer. Both are
/// reused from reply to reply.
final class ReplyTape {
    struct Entry {
        var type: Int32
        /// An integer's value, or an array's element count.
        var number: Int64
        /// A string's bytes in `bytes`.
        var start: Int
        var length: Int
    }

    // Unchecked exclusivity: the tape belongs to one reader on one thread, and hiredis calls
    // its functions one at a time (each a few stores: a runtime check per access was a tenth
    // of the Redis read path).
    @exclusivity(unchecked) private(set) var entries: [Entry] = []
    @exclusivity(unchecked) private var bytes = ByteBufferAllocator().buffer(capacity: 1024)

    init() {
        entries.reserveCapacity(16)
    }

    /// `true` once the reply on the tape was read: the next reply's first value clears it.
    @exclusivity(unchecked) private var finished = false

    /// Ready for the next reply (a buffer grown past 64 KiB by a big reply is let go).
    func reset() {
        finished = false
        entries.removeAll(keepingCapacity: entries.capacity <= 1024)
        if bytes.capacity > 65536 { bytes = ByteBufferAllocator().buffer(capacity: 1024) } else { bytes.clear() }
    }

    /// The reply was read. The tape is cleared when the next reply starts, not now: a message's
    /// channel and payload are slices of the tape, and by then the node has let them go, so the
    /// buffer is reused in place (cleared now, it would be copied).
    func finish() {
        finished = true
    }

    /// The reply read: strings are slices of one buffer, copied once from the tape's.
    func value() -> RESPValue {
        let shared = bytes.readableBytes > 0 ? ByteBuffer(bytes: bytes.readableBytesView) : ByteBuffer()
        var index = 0
        return value(at: &index, in: shared)
    }

    /// The reply as a pub/sub message, when it is one: an array of three strings, the first
    /// `message` or `smessage`. The channel and payload are slices of the tape's buffer.
    func message() -> HiredisReader.Reply? {
        guard entries.count == 4, entries[0].type == REDIS_REPLY_ARRAY, entries[0].number == 3,
            entries[1].type == REDIS_REPLY_STRING, entries[2].type == REDIS_REPLY_STRING, entries[3].type == REDIS_REPLY_STRING
        else { return nil }
        let kind = entries[1]
        let sharded: Bool
        if entry(kind, is: "message") {
            sharded = false
        } else if entry(kind, is: "smessage") {
            sharded = true
        } else {
            return nil
        }
        let channel = entries[2]
        let payload = entries[3]
        // Slices of the tape itself, not a copy: the node copies the payload into the frames it
        // delivers and keeps no slice, so the tape is again its only holder when the next reply
        // is read (a slice kept longer makes the tape copy itself then, not lose bytes).
        return .message(
            channel: bytes.getSlice(at: bytes.readerIndex + channel.start, length: channel.length) ?? ByteBuffer(),
            payload: bytes.getSlice(at: bytes.readerIndex + payload.start, length: payload.length) ?? ByteBuffer(),
            sharded: sharded
        )
    }

    /// Whether the string `entry` is `name` (compared in the tape's bytes: a generic sequence
    /// comparison cost more than the rest of telling a message apart).
    private func entry(_ entry: Entry, is name: StaticString) -> Bool {
        bytes.withUnsafeReadableBytes { raw in
            UnsafeRawBufferPointer(rebasing: raw[entry.start..<entry.start + entry.length]).equals(name)
        }
    }

    private func value(at index: inout Int, in shared: ByteBuffer) -> RESPValue {
        guard index < entries.count else { return .null }
        let entry = entries[index]
        index += 1
        switch entry.type {
        case REDIS_REPLY_STRING:
            return .bulkString(shared.getSlice(at: entry.start, length: entry.length) ?? ByteBuffer())
        case REDIS_REPLY_STATUS:
            return .simpleString(shared.getString(at: entry.start, length: entry.length) ?? "")
        case REDIS_REPLY_ERROR:
            return .error(shared.getString(at: entry.start, length: entry.length) ?? "")
        case REDIS_REPLY_INTEGER:
            return .integer(entry.number)
        case REDIS_REPLY_ARRAY:
            var elements: [RESPValue] = []
            elements.reserveCapacity(Int(entry.number))
            for _ in 0..<entry.number { elements.append(value(at: &index, in: shared)) }
            return .array(elements)
        default:
            return .null
        }
    }

    fileprivate func string(type: Int32, _ pointer: UnsafeMutablePointer<CChar>?, _ length: Int) {
        if finished { reset() }
        let start = bytes.writerIndex
        if let pointer, length > 0 { bytes.writeBytes(UnsafeRawBufferPointer(start: pointer, count: length)) }
        entries.append(Entry(type: type, number: 0, start: start, length: length))
    }

    fileprivate func append(type: Int32, number: Int64) {
        if finished { reset() }
        entries.append(Entry(type: type, number: number, start: 0, length: 0))
    }

    /// What hiredis's object functions return: any non-null pointer (hiredis only checks it
    /// for null, and hands it back as the reply; the tape holds the values).
    nonisolated(unsafe) private static let sentinel = UnsafeMutableRawPointer(bitPattern: 0x1)!

    /// Runs `body` on the reader's tape (its `privdata`), borrowed: the reader holds it for as
    /// long as hiredis reads, so no reference is counted per value.
    private static func withTape<T>(_ task: UnsafePointer<redisReadTask>?, _ body: (ReplyTape) -> T) -> T {
        Unmanaged<ReplyTape>.fromOpaque(task!.pointee.privdata!)._withUnsafeGuaranteedRef(body)
    }

    /// hiredis's object functions, writing to the reader's tape (its `privdata`).
    nonisolated(unsafe) static let functions: UnsafeMutablePointer<redisReplyObjectFunctions> = {
        let functions = UnsafeMutablePointer<redisReplyObjectFunctions>.allocate(capacity: 1)
        functions.initialize(to: redisReplyObjectFunctions(
            createString: { task, pointer, length in
                withTape(task) { $0.string(type: task!.pointee.type, pointer, length) }
                return sentinel
            },
            createArray: { task, count in
                withTape(task) { $0.append(type: REDIS_REPLY_ARRAY, number: Int64(count)) }
                return sentinel
            },
            createInteger: { task, value in
                withTape(task) { $0.append(type: REDIS_REPLY_INTEGER, number: Int64(value)) }
                return sentinel
            },
            createNil: { task in
                withTape(task) { $0.append(type: REDIS_REPLY_NIL, number: 0) }
                return sentinel
            },
            freeObject: { _ in }
        ))
        return functions
    }()
}
