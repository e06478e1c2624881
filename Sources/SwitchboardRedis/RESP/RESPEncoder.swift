public import NIOCore
public import Switchboard

/// Encodes commands as RESP arrays of bulk strings (byte-identical to hiredis's
/// `redisFormatCommandArgv`), straight into a buffer: no allocation per argument.
public enum RESPEncoder {
    /// Appends one command.
    public static func write(_ arguments: [ByteBuffer], into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "*"))
        writeDecimal(arguments.count, into: &buffer)
        for argument in arguments {
            buffer.writeInteger(UInt8(ascii: "$"))
            writeDecimal(argument.readableBytes, into: &buffer)
            var copy = argument
            buffer.writeBuffer(&copy)
            buffer.writeStaticString("\r\n")
        }
    }

    /// Appends one command whose arguments are strings.
    public static func write(_ arguments: [String], into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "*"))
        writeDecimal(arguments.count, into: &buffer)
        for argument in arguments { writeBulk(argument, into: &buffer) }
    }

    /// One command as a new buffer.
    public static func encode(_ arguments: [String]) -> ByteBuffer {
        var buffer = ByteBuffer()
        write(arguments, into: &buffer)
        return buffer
    }

    /// `PUBLISH <prefix><channel> <payload>` with the payload (`BrokerPayload`) written straight
    /// into the command: one buffer, no intermediate copy of the data.
    public static func publish(prefix: String, channel: String, event: String?, rawData: RawJSON) -> ByteBuffer {
        guard let room = publishRoom(prefix: prefix, channel: channel, event: event, rawData: rawData) else {
            return publish(prefix: prefix, channel: channel, payload: BrokerPayload.encodeBytes(event: event, rawData: rawData))
        }
        var buffer = ByteBufferAllocator().buffer(capacity: room)
        // One access for the whole command (see `ByteWriter`).
        buffer.writeParts(room: room) { writePublish(prefix: prefix, channel: channel, event: event, rawData: rawData, into: &$0) }
        return buffer
    }

    /// The length of `PUBLISH <prefix><channel> {"event", "data"}` as `writePublish` writes it, or
    /// `nil` when the event needs escapes (then `publish` encodes it another way).
    package static func publishRoom(prefix: String, channel: String, event: String?, rawData: RawJSON) -> Int? {
        guard let length = BrokerPayload.plainLength(event: event, rawData: rawData) else { return nil }
        let channelBytes = prefix.utf8.count + channel.utf8.count
        return "*3\r\n$7\r\nPUBLISH\r\n$".utf8.count + 3 * "\r\n".utf8.count + "\r\n$".utf8.count + ByteWriter.decimalLength(channelBytes) + channelBytes
            + ByteWriter.decimalLength(length) + length
    }

    /// Writes the command `publishRoom` measured (which must not be `nil`).
    package static func writePublish(prefix: String, channel: String, event: String?, rawData: RawJSON, into writer: inout ByteWriter) {
        let length = BrokerPayload.plainLength(event: event, rawData: rawData) ?? 0
        writer.write("*3\r\n$7\r\nPUBLISH\r\n$")
        writer.write(decimal: prefix.utf8.count + channel.utf8.count)
        writer.write("\r\n")
        writer.write(utf8: prefix)
        writer.write(utf8: channel)
        writer.write("\r\n$")
        writer.write(decimal: length)
        writer.write("\r\n")
        BrokerPayload.writePlain(event: event, rawData: rawData, into: &writer)
        writer.write("\r\n")
    }

    /// `PUBLISH <prefix><channel> <payload>` in one buffer, without intermediate buffers.
    public static func publish(prefix: String, channel: String, payload: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer()
        let channelBytes = prefix.utf8.count + channel.utf8.count
        buffer.reserveCapacity(payload.count + channelBytes + 48)
        buffer.writeStaticString("*3\r\n$7\r\nPUBLISH\r\n$")
        writeDecimal(channelBytes, into: &buffer)
        buffer.writeString(prefix)
        buffer.writeString(channel)
        buffer.writeStaticString("\r\n$")
        writeDecimal(payload.count, into: &buffer)
        buffer.writeBytes(payload)
        buffer.writeStaticString("\r\n")
        return buffer
    }

    /// A command of string arguments and a last binary one (a payload), in one buffer sized
    /// up front: no buffer per argument (the history publish's EVALSHA).
    public static func command(_ arguments: [String], last: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(arguments.reduce(last.count + 32) { $0 + $1.utf8.count + 16 })
        buffer.writeInteger(UInt8(ascii: "*"))
        writeDecimal(arguments.count + 1, into: &buffer)
        for argument in arguments { writeBulk(argument, into: &buffer) }
        buffer.writeInteger(UInt8(ascii: "$"))
        writeDecimal(last.count, into: &buffer)
        buffer.writeBytes(last)
        buffer.writeStaticString("\r\n")
        return buffer
    }

    private static func writeBulk(_ argument: String, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "$"))
        writeDecimal(argument.utf8.count, into: &buffer)
        buffer.writeString(argument)
        buffer.writeStaticString("\r\n")
    }

    private static func writeDecimal(_ value: Int, into buffer: inout ByteBuffer) {
        buffer.writeString(String(value))
        buffer.writeStaticString("\r\n")
    }
}
