public import NIOCore

/// How a protocol's sockets receive channel messages (docs/jsonrpc.md and docs/wsrpc.md).
public enum ChannelMessageFormat: Sendable, Hashable {
    /// `{"channel": C, "event": E, "data": D}` (and `"offset"`, `"epoch"` on history channels):
    /// `/stream`, and wsrpc (as an event).
    case stream
    /// `{"jsonrpc": "2.0", "method": C, "params": D}`: a JSON-RPC notification named by the topic.
    case jsonRPC
}

/// The JSON of a delivered message, in each format.
public enum ChannelMessageText {
    /// Bytes left free in front of the text, so a transport can add its frame header in place.
    public static let headroom = 10

    /// Writes the `/stream` message with `data` given as raw JSON text (already validated), in a
    /// new buffer with `headroom`.
    public static func make(channel: String, event: String?, rawData: ByteBuffer) -> ByteBuffer {
        make(format: .stream, channel: channel, event: event, rawData: rawData)
    }

    /// Writes the message in `format`, in a new buffer with `headroom`; messages of history
    /// channels carry their `position` (`/stream` format only: JSON-RPC's notification has no room).
    public static func make(format: ChannelMessageFormat, channel: String, event: String?, rawData: ByteBuffer, position: StreamPosition? = nil) -> ByteBuffer {
        // Allocated at its size at once (an empty buffer grown to it starts from the shared empty
        // storage: two more reference counts and a uniqueness check).
        var buffer = ByteBufferAllocator().buffer(capacity: headroom + channel.utf8.count + (event?.utf8.count ?? 0) + rawData.readableBytes + 48)
        buffer.moveWriterIndex(forwardBy: headroom)
        buffer.moveReaderIndex(forwardBy: headroom)
        write(format: format, channel: channel, event: event, rawData: rawData, position: position, into: &buffer)
        return buffer
    }

    /// Appends the message in `format` to `buffer` (with `offset` and `epoch` members for a
    /// `/stream` message with a `position`).
    public static func write(format: ChannelMessageFormat, channel: String, event: String?, rawData: ByteBuffer, position: StreamPosition? = nil, into buffer: inout ByteBuffer) {
        // The usual message (plain names, no history position): its pieces in one access.
        if format == .stream, position == nil, JSONWriter.needsNoEscape(channel), event.map(JSONWriter.needsNoEscape) ?? true {
            let room = #"{"channel":"","event":"","data":}"#.utf8.count + channel.utf8.count + (event?.utf8.count ?? 0) + rawData.readableBytes
            buffer.writeParts(room: room) { writer in
                writer.write(#"{"channel":""#)
                writer.write(utf8: channel)
                writer.write(#"","event":""#)
                if let event { writer.write(utf8: event) }
                writer.write(#"","data":"#)
                writer.write(rawData)
                writer.write(UInt8(ascii: "}"))
            }
            return
        }
        // Written straight into the buffer (no intermediate array: one allocation less per message).
        buffer.reserveCapacity(buffer.writerIndex + channel.utf8.count + (event?.utf8.count ?? 0) + rawData.readableBytes + 48)
        switch format {
        case .stream:
            buffer.writeStaticString(#"{"channel":"#)
            JSONWriter.writeString(channel, into: &buffer)
            buffer.writeStaticString(#","event":"#)
            JSONWriter.writeString(event ?? "", into: &buffer)
            buffer.writeStaticString(#","data":"#)
        case .jsonRPC:
            buffer.writeStaticString(#"{"jsonrpc":"2.0","method":"#)
            JSONWriter.writeString(channel, into: &buffer)
            // A notification without data has no params (aiohttp-json-rpc's `encode_request`).
            if rawData.readableBytesView.elementsEqual("null".utf8) {
                buffer.writeInteger(UInt8(ascii: "}"))
                return
            }
            buffer.writeStaticString(#","params":"#)
        }
        buffer.writeImmutableBuffer(rawData)
        if let position, format == .stream {
            position.writeMembers(into: &buffer)
        }
        buffer.writeInteger(UInt8(ascii: "}"))
    }
}
