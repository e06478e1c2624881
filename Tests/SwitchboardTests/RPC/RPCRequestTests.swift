import NIOCore
import Testing

@testable import Switchboard

@Suite("RPC envelope")
struct RPCRequestTests {
    func reply(_ text: String) -> String {
        switch RPCRequest.decode(text) {
        case .success(let request): return "ok \(request.id) \(request.method) \(JSONValue.object(request.payload))"
        case .failure(let rejection):
            var buffer = ByteBuffer()
            RPCReply.failure(rejection.error, id: rejection.id, method: rejection.method, into: &buffer)
            return String(buffer: buffer)
        }
    }

    @Test("exact error replies", arguments: [
        ("hkjhkhk", #"{"error":{"message":"JSON string expected"}}"#),
        ("", #"{"error":{"message":"JSON string expected"}}"#),
        ("[1]", #"{"error":{"message":"Malformed message; expected dictionary, got list"}}"#),
        ("\"s\"", #"{"error":{"message":"Malformed message; expected dictionary, got str"}}"#),
        ("42", #"{"error":{"message":"Malformed message; expected dictionary, got int"}}"#),
        ("1.5", #"{"error":{"message":"Malformed message; expected dictionary, got float"}}"#),
        ("true", #"{"error":{"message":"Malformed message; expected dictionary, got bool"}}"#),
        ("null", #"{"error":{"message":"Malformed message; expected dictionary, got null"}}"#),
        ("{}", #"{"error":{"message":"Invalid RPC parameters","errors":{"id":"required","method":"required"}}}"#),
        (#"{"method":"info"}"#, #"{"error":{"message":"Invalid RPC parameters","errors":{"id":"required"}}}"#),
        (#"{"id":"a"}"#, #"{"error":{"message":"Invalid RPC parameters","errors":{"method":"required"}},"id":"a"}"#),
        (#"{"id":1,"method":"x"}"#, #"{"error":{"message":"Invalid RPC parameters","errors":{"id":"not valid type"}},"id":1}"#),
        (#"{"id":0,"method":"x"}"#, #"{"error":{"message":"Invalid RPC parameters","errors":{"id":"not valid type"}},"id":0}"#),
        (#"{"id":"a","method":5}"#, #"{"error":{"message":"Invalid RPC parameters","errors":{"method":"not valid type"}},"id":"a"}"#),
        (#"{"id":"a","method":null}"#, #"{"error":{"message":"Invalid RPC parameters","errors":{"method":"not valid type"}},"id":"a"}"#),
        (#"{"id":"a","method":"x","payload":[]}"#, #"{"error":{"message":"Invalid RPC parameters","errors":{"payload":"expected an object"}},"id":"a"}"#),
        (#"{"id":7,"method":8,"payload":[]}"#, #"{"error":{"message":"Invalid RPC parameters","errors":{"id":"not valid type","method":"not valid type","payload":"expected an object"}},"id":7}"#),
    ])
    func errors(_ text: String, _ expected: String) {
        #expect(reply(text) == expected)
        // The envelope decoder (its fast path, then the full one) refuses it the same way.
        guard case .failure(let full) = RPCRequest.decode(text) else { return }
        guard case .failure(let rejection) = RPCEnvelope.decode(ByteBuffer(string: text)) else {
            Issue.record("RPCEnvelope.decode accepted \(text)")
            return
        }
        #expect(rejection == full)
    }

    @Test("valid envelopes: null id, absent or null payload, unknown keys ignored", arguments: [
        (#"{"id":"a","method":"info"}"#, "ok \"a\" info {}"),
        (#"{"id":null,"method":"info"}"#, "ok null info {}"),
        (#"{"id":"","method":"info","payload":null}"#, "ok \"\" info {}"),
        (#"{"jsonrpc":"2.0","id":"a","method":"m","payload":{"k":1},"extra":[1]}"#, "ok \"a\" m {\"k\":1}"),
        (#"{"id":"NULL","method":"NULL"}"#, "ok \"NULL\" NULL {}"),
    ])
    func valid(_ text: String, _ expected: String) {
        #expect(reply(text) == expected)
        // The envelope decoder and the /stream codec read the same request.
        let envelope = try? RPCEnvelope.decode(ByteBuffer(string: text)).get()
        #expect(envelope.map { "ok \($0.id) \($0.method) \(JSONValue.object($0.payloadObject))" } == expected)
        guard case .single(.request(let request)) = StreamCodec().decode(ByteBuffer(string: text)) else {
            Issue.record("the /stream codec did not read a request from \(text)")
            return
        }
        #expect(request.method == envelope?.method)
        #expect(request.address.rawID == envelope?.rawID)
    }

    @Test("reply shapes")
    func replies() {
        var buffer = ByteBuffer()
        RPCReply.success(id: "a", method: "m", response: ["x": 1], into: &buffer)
        #expect(String(buffer: buffer) == #"{"id":"a","method":"m","response":{"x":1}}"#)
        buffer.clear()
        RPCReply.failure(.unknownMethod("wtf"), id: "a", method: "wtf", into: &buffer)
        #expect(String(buffer: buffer) == #"{"error":{"message":"Invalid RPC parameters","errors":{"method":"wtf method not available"}},"id":"a","method":"wtf"}"#)
    }

    /// A result as `publish` builds it: in a buffer of its own, with `RPCReply.resultHeadroom`
    /// in front and one byte of room after.
    func result(_ json: String) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: RPCReply.resultHeadroom + json.utf8.count + 1)
        buffer.moveWriterIndex(forwardBy: RPCReply.resultHeadroom)
        buffer.moveReaderIndex(forwardBy: RPCReply.resultHeadroom)
        buffer.writeString(json)
        return buffer
    }

    @Test("a reply written around its result is the reply written into a new buffer, with a frame header's room left")
    func replyAroundResult() {
        var expected = ByteBuffer()
        RPCReply.success(rawID: ByteBuffer(string: #""a-1""#), method: "publish", response: RawJSON(unchecked: ByteBuffer(string: #"{"x":1}"#)), into: &expected)
        var reply = result(#"{"x":1}"#)
        let storage = reply.capacity
        #expect(RPCReply.success(rawID: ByteBuffer(string: #""a-1""#), method: "publish", around: &reply, keeping: ChannelMessageText.headroom))
        #expect(reply == expected)
        #expect(reply.readerIndex >= ChannelMessageText.headroom)
        #expect(reply.capacity == storage)
        // The /stream codec writes the same.
        var viaCodec = result(#"{"x":1}"#)
        #expect(StreamCodec().encodeResult(around: &viaCodec, for: RPCReplyAddress(rawID: ByteBuffer(string: #""a-1""#), method: "publish")))
        #expect(viaCodec == expected)
    }

    @Test("no reply around a result whose envelope does not fit, or whose method needs escaping")
    func noReplyAroundResult() {
        let longID = ByteBuffer(string: "\"" + String(repeating: "i", count: RPCReply.resultHeadroom) + "\"")
        for (id, method) in [(longID, "publish"), (ByteBuffer(string: "1"), "pub\"lish")] {
            var reply = result(#"{"x":1}"#)
            #expect(!RPCReply.success(rawID: id, method: method, around: &reply, keeping: ChannelMessageText.headroom))
            #expect(String(buffer: reply) == #"{"x":1}"#)
        }
        // Other protocols write their replies into a new buffer.
        var reply = result(#"{"x":1}"#)
        #expect(!JSONRPCCodec().encodeResult(around: &reply, for: RPCReplyAddress(rawID: ByteBuffer(string: "1"), method: "publish")))
    }
}
