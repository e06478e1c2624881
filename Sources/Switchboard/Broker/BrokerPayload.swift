public import NIOCore

/// What travels through a broker for one message: the JSON object `{"event": <string|null>,
/// "data": <any>}`. Any program can publish to sockets by sending this (for Redis, a plain
/// `PUBLISH switchboard:news '{"event":"x","data":1}'`).
public enum BrokerPayload {
    /// Why a payload from the broker was refused.
    public struct Malformed: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// Largest payload accepted from the broker.
    public static let maxBytes = 64 * 1024 * 1024

    /// The encoded length of a message whose event needs no escape (nearly every event), or
    /// `nil` when it needs one: then a writer that must know the length first (a Redis bulk
    /// string) uses `encodeBytes`.
    package static func plainLength(event: String?, rawData: RawJSON) -> Int? {
        var eventLength = 4  // null
        if let event {
            guard JSONWriter.needsNoEscape(event) else { return nil }
            eventLength = event.utf8.count + 2
        }
        return #"{"event":,"data":}"#.utf8.count + eventLength + rawData.bytes.readableBytes
    }

    /// Writes a message whose event needs no escape (`plainLength` is not `nil`): straight from
    /// the request's bytes, inside a larger message written in one access (a Redis command).
    package static func writePlain(event: String?, rawData: RawJSON, into writer: inout ByteWriter) {
        writer.write(#"{"event":"#)
        if let event {
            writer.write(UInt8(ascii: "\""))
            writer.write(utf8: event)
            writer.write(UInt8(ascii: "\""))
        } else {
            writer.write("null")
        }
        writer.write(#","data":"#)
        writer.write(rawData.bytes)
        writer.write(UInt8(ascii: "}"))
    }

    /// Encodes a message whose data is raw JSON text, copied as it is.
    public static func encodeBytes(event: String?, rawData: RawJSON) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32 + (event?.utf8.count ?? 4) + rawData.bytes.readableBytes)
        bytes.append(contentsOf: #"{"event":"#.utf8)
        if let event { JSONWriter.append(event, to: &bytes) } else { bytes.append(contentsOf: "null".utf8) }
        bytes.append(contentsOf: #","data":"#.utf8)
        bytes.append(contentsOf: rawData.bytes.readableBytesView)
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    /// Decodes and validates a payload: a JSON object with `data` (any JSON) and an optional
    /// `event` (string or null; other members are ignored). `rawData` is the data's JSON text,
    /// validated, to be passed on without re-encoding. Events are bounded like published ones.
    public static func decode(_ payload: ByteBuffer) throws(Malformed) -> (event: String?, rawData: ByteBuffer) {
        let message = try decodeMessage(payload)
        return (message.event, message.rawData)
    }

    /// A decoded payload; `position` is set for messages of history channels (the payload's
    /// `offset` and `epoch` members, added by the publishing script).
    public struct Message: Sendable {
        public var event: String?
        public var rawData: ByteBuffer
        public var position: StreamPosition?
    }

    /// Decodes like `decode`, keeping the `offset` and `epoch` of a history channel's message.
    public static func decodeMessage(_ payload: ByteBuffer) throws(Malformed) -> Message {
        guard payload.readableBytes <= maxBytes else { throw Malformed(description: "payload over \(maxBytes) bytes") }
        let result: Result<(String?, Range<Int>, StreamPosition?), Malformed> = payload.withUnsafeReadableBytes { bytes in
            var event: String? = nil
            var data: Range<Int>? = nil
            var offset: StreamOffset? = nil
            var epoch: String? = nil
            var problem: Malformed? = nil
            do {
                try JSONParser.forEachMember(in: bytes) { key, value in
                    switch key {
                    case "offset":
                        if let text = JSONParser.string(in: UnsafeRawBufferPointer(rebasing: bytes[value])) { offset = StreamOffset(text) }
                    case "epoch":
                        if let text = JSONParser.string(in: UnsafeRawBufferPointer(rebasing: bytes[value])) { epoch = text }
                    case "event":
                        // The value was validated with the object: a string is read as one.
                        switch bytes[value.lowerBound] {
                        case UInt8(ascii: "\""):
                            if let name = JSONParser.string(in: UnsafeRawBufferPointer(rebasing: bytes[value])), name.utf8.count <= EventName.maxBytes {
                                event = name
                            } else {
                                problem = problem ?? Malformed(description: "\"event\" over \(EventName.maxBytes) bytes")
                            }
                        case UInt8(ascii: "n"): event = nil
                        default: problem = problem ?? Malformed(description: "\"event\" must be a string or null")
                        }
                    case "data":
                        data = value
                    default:
                        break
                    }
                }
            } catch {
                return .failure(Malformed(description: "not a JSON object: \(error)"))
            }
            if let problem { return .failure(problem) }
            guard let data else { return .failure(Malformed(description: "no \"data\" member")) }
            let position = offset.flatMap { offset in epoch.map { StreamPosition(offset: offset, epoch: $0) } }
            return .success((event, data, position))
        }
        let (event, data, position) = try result.get()
        // The data's JSON text is a slice of the payload: no copy.
        return Message(event: event, rawData: payload.readableSlice(data), position: position)
    }
}
