public import NIOCore

/// `publish {channel, data, event?, state?}` → `{"channel", "event", "data"}`, and on a history
/// channel `"offset"` and `"epoch"`: where the message was written (what its subscribers get with
/// it). With `state: true` the message is also kept as the channel's state, sent to every later
/// subscriber.
///
/// Publishes of one socket are pipelined: the broker keeps them in order, so the next request
/// need not wait for this one. On the socket path the payload is taken as raw JSON: the data's
/// bytes go to the broker and back in the reply exactly as sent, never parsed into a tree.
public struct PublishMethod: RawRPCMethod {
    public init() {}

    public var pipelined: Bool { true }

    public var parameterNames: [String] { ["channel", "data", "event", "state"] }

    public func call(payload: JSONObject, context: RPCContext) -> EventLoopFuture<JSONValue> {
        callRaw(payload: JSONValue.object(payload).jsonBytes, context: context).map(\.value)
    }

    public func callRaw(payload: ByteBuffer, context: RPCContext) -> EventLoopFuture<RawJSON> {
        let promise = context.eventLoop.makePromise(of: RawJSON.self)
        callRaw(payload: payload, context: context) { result in promise.completeWith(result) }
        return promise.futureResult
    }

    public func callRaw(payload: ByteBuffer, context: RPCContext, completion: @escaping @Sendable (consuming Result<RawJSON, any Error>) -> Void) {
        let request: RawPublishRequest
        do {
            request = try RawPublishRequest(payload)
            try context.authorize(.publish, request.channel)
            if request.keepsState, context.hub.channels.features(for: request.channel).stateTTL == nil {
                throw RPCError.invalidParameter("state", "No state: this channel keeps none (state in the configuration's channels, or a --topics topic)")
            }
        } catch {
            return completion(.failure(error))
        }
        if context.shared.publishesAskBackend, context.access.asksBackend(.publish, request.channel) {
            return publishAfterBackend(request, context: context, completion: completion)
        }
        // The broker calls back on the context's loop: one callback, straight to the session. It
        // holds the reply's parts (one buffer), not the request's names.
        let reply = request.reply
        let answer: @Sendable (Result<StreamPosition?, any Error>) -> Void = { result in
            switch result {
            case .success(let position): completion(.success(reply.response(at: position)))
            case .failure(let error): completion(.failure(context.explain(error, channel: reply.channel)))
            }
        }
        if request.keepsState {
            context.hub.publishState(channel: request.channel, event: request.event, rawData: request.data, on: context.eventLoop).whenComplete(answer)
        } else {
            context.hub.publish(channel: request.channel, event: request.event, rawData: request.data, on: context.eventLoop, completion: answer)
        }
    }
}

extension PublishMethod {
    /// A publish on a channel whose rule says `proxy`: the backend allows it (and may give
    /// other data to publish) before it goes to the broker.
    func publishAfterBackend(_ request: RawPublishRequest, context: RPCContext, completion: @escaping @Sendable (consuming Result<RawJSON, any Error>) -> Void) {
        let future = context.eventLoop.makeFutureWithTask { () async throws -> RawJSON in
            var request = request
            if let data = try await context.askBackend(.publish, request.channel, data: request.data.value) {
                request.replaceData(with: RawJSON(data))
            }
            let position: StreamPosition?
            do {
                position = try await (request.keepsState
                    ? context.hub.publishState(channel: request.channel, event: request.event, rawData: request.data, on: context.eventLoop)
                    : context.hub.publish(channel: request.channel, event: request.event, rawData: request.data, on: context.eventLoop)).get()
            } catch {
                throw context.explain(error, channel: request.channel)
            }
            return request.response(at: position)
        }
        future.whenComplete { result in completion(result) }
    }
}

/// A publish payload read from raw JSON text, with the same validation as `PublishRequest`:
/// every failing field at once, in the order data, channel, event, state.
struct RawPublishRequest {
    let channel: String
    let event: String?
    let keepsState: Bool
    /// What the publish's answer is made of.
    private(set) var reply: Reply

    /// The payload as sent and where its parts are (ranges of its readable bytes): all the answer
    /// needs, in one buffer, so the broker's callback holds one reference.
    struct Reply: Sendable {
        let payload: ByteBuffer
        let dataRange: Range<Int>
        let channelRange: Range<Int>
        let eventRange: Range<Int>?
        /// The data the publish proxy gave instead of what was sent.
        var replacedData: RawJSON?
        /// `true` when the payload is exactly `{"channel", "event", "data"}` (in any order): then
        /// it is the response, as sent, with nothing built.
        var verbatim: Bool

        /// The data to publish: as sent, or as the publish proxy rewrote it.
        var data: RawJSON { replacedData ?? RawJSON(unchecked: payload.readableSlice(dataRange)) }

        /// The channel's name, read again from the payload (for an error's explanation).
        var channel: String {
            if case .string(let name) = RawJSON(unchecked: payload.readableSlice(channelRange)).value { return name }
            return ""
        }

        /// `{"channel", "event", "data"}` from the raw parts, as sent, with `"offset"` and
        /// `"epoch"` when the message has a `position` in the channel's history.
        func response(at position: StreamPosition?) -> RawJSON {
            if position == nil, verbatim { return RawJSON(unchecked: payload) }
            let data = self.data.bytes
            let room = #"{"channel":,"event":,"data":}"#.utf8.count + channelRange.count + (eventRange?.count ?? 4) + data.readableBytes
            // Room in front for the reply's envelope and frame header, and after for the
            // envelope's closing brace: the session writes the reply around this, in place.
            let headroom = RPCReply.resultHeadroom
            var buffer = ByteBufferAllocator().buffer(capacity: headroom + room + (position == nil ? 0 : 96) + 1)
            buffer.moveWriterIndex(forwardBy: headroom)
            buffer.moveReaderIndex(forwardBy: headroom)
            // The parts in one access (see `ByteWriter`); the history position after them.
            buffer.writeParts(room: room) { writer in
                writer.write(#"{"channel":"#)
                payload.withUnsafeReadableBytes { bytes in
                    writer.write(UnsafeRawBufferPointer(rebasing: bytes[channelRange]))
                    writer.write(#","event":"#)
                    if let eventRange { writer.write(UnsafeRawBufferPointer(rebasing: bytes[eventRange])) } else { writer.write("null") }
                }
                writer.write(#","data":"#)
                writer.write(data)
                if position == nil { writer.write(UInt8(ascii: "}")) }
            }
            if let position {
                position.writeMembers(into: &buffer)
                buffer.writeInteger(UInt8(ascii: "}"))
            }
            return RawJSON(unchecked: buffer)
        }
    }

    /// The data to publish: as sent, or as the publish proxy rewrote it.
    var data: RawJSON { reply.data }

    init(_ payload: ByteBuffer) throws(RPCError) {
        typealias Parts = (data: Range<Int>?, channel: Range<Int>?, event: Range<Int>?, state: Range<Int>?)
        var memberCount = 0
        let members: Parts? = payload.withUnsafeReadableBytes { bytes -> Parts? in
            var parts: Parts = (nil, nil, nil, nil)
            do {
                // The payload was validated with its request (RawRPCMethod's contract).
                try JSONParser.forEachMember(in: bytes, trusted: true) { key, value in
                    memberCount += 1
                    switch key {
                    case "data": parts.data = value
                    case "channel": parts.channel = value
                    case "event": parts.event = value
                    case "state": parts.state = value
                    default: break
                    }
                }
            } catch {
                return nil
            }
            return parts
        }
        guard let members else { throw RPCError.invalidParameter("payload", FieldProblem.expectedObject) }
        func first(_ range: Range<Int>) -> UInt8 {
            payload.getInteger(at: payload.readerIndex + range.lowerBound, as: UInt8.self) ?? 0
        }
        /// The string at `range` (`nil` when the value is not one), without a slice or a tree.
        func string(_ range: Range<Int>) -> String? {
            payload.withUnsafeReadableBytes { JSONParser.string(in: UnsafeRawBufferPointer(rebasing: $0[range])) }
        }
        var problems: [(field: String, problem: String)] = []
        // data: a string, array, object or null.
        var dataRange: Range<Int>? = nil
        if let range = members.data {
            switch first(range) {
            case UInt8(ascii: "\""), UInt8(ascii: "["), UInt8(ascii: "{"), UInt8(ascii: "n"): dataRange = range
            default: problems.append(("data", FieldProblem.notValidType))
            }
        } else {
            problems.append(("data", FieldProblem.required))
        }
        // channel: a string.
        var channel = ""
        var channelRange: Range<Int>? = nil
        if let range = members.channel {
            if let name = string(range) {
                channel = name
                channelRange = range
            } else {
                problems.append(("channel", FieldProblem.notValidType))
            }
        } else {
            problems.append(("channel", FieldProblem.required))
        }
        // event: absent, null or a string.
        var event: String? = nil
        var eventRange: Range<Int>? = nil
        if let range = members.event, first(range) != UInt8(ascii: "n") {
            if let name = string(range) {
                if name.utf8.count > EventName.maxBytes {
                    problems.append(("event", EventName.tooLong))
                } else {
                    event = name
                    eventRange = range
                }
            } else {
                problems.append(("event", FieldProblem.notValidType))
            }
        }
        // state: absent, null or a boolean.
        var keepsState = false
        if let range = members.state {
            switch first(range) {
            case UInt8(ascii: "t"): keepsState = true
            case UInt8(ascii: "f"), UInt8(ascii: "n"): break
            default: problems.append(("state", FieldProblem.notValidType))
            }
        }
        guard problems.isEmpty, let dataRange, let channelRange else { throw RPCError.invalidParameters(problems) }
        self.keepsState = keepsState
        self.channel = channel
        self.event = event
        self.reply = Reply(
            payload: payload, dataRange: dataRange, channelRange: channelRange, eventRange: eventRange,
            replacedData: nil, verbatim: memberCount == 3 && members.event != nil && members.state == nil
        )
    }

    /// Publishes `data` instead of what was sent (the publish proxy rewrote it).
    mutating func replaceData(with data: RawJSON) {
        reply.replacedData = data
        reply.verbatim = false
    }

    /// The publish's answer (see `Reply.response(at:)`).
    func response(at position: StreamPosition?) -> RawJSON {
        reply.response(at: position)
    }
}
