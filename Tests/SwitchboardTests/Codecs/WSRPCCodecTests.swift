import NIOCore
import Testing

@testable import Switchboard

/// The wsrpc codec on its own: calls, answers both ways, events, errors (docs/wsrpc.md).
@Suite("wsrpc codec")
struct WSRPCCodecTests {
    let codec = WSRPCCodec()

    func single(_ text: String) throws -> RPCInboundMessage {
        guard case .single(let message) = codec.decode(ByteBuffer(string: text)) else { throw CodecTestError.unexpected }
        return message
    }

    func encoded(_ write: (inout ByteBuffer) -> Void) throws -> JSONValue {
        var buffer = ByteBuffer()
        write(&buffer)
        return try JSONValue(parsing: String(buffer: buffer))
    }

    @Test("a call is a request; its params are keyword arguments")
    func calls() throws {
        guard case .request(let request) = try single(#"{"id": 3, "method": "kv.set", "params": {"key": "a", "value": 1}}"#) else {
            throw CodecTestError.unexpected
        }
        #expect(request.method == "kv.set")
        #expect(request.address.id == 3)
        guard case .object(let params) = request.params else { throw CodecTestError.unexpected }
        #expect(RawJSON(unchecked: params).value == ["key": "a", "value": 1])
        guard case .request(let bare) = try single(#"{"id": 5, "method": "subtract", "params": null}"#), case .none = bare.params else {
            throw CodecTestError.unexpected
        }
    }

    @Test("messages without an id are events, whatever they hold")
    func events() throws {
        guard case .event(let event) = try single(#"{"method": "x", "data": 1}"#) else { throw CodecTestError.unexpected }
        #expect(event == ["method": "x", "data": 1])
        guard case .event = try single(#"{"id": null, "hello": true}"#) else { throw CodecTestError.unexpected }
    }

    @Test("answers to the node's calls: results, error objects, and the JS client's error strings")
    func answers() throws {
        guard case .reply(2, .success(let value)) = try single(#"{"id": 2, "result": {"seq": 1.5}}"#) else { throw CodecTestError.unexpected }
        #expect(value == ["seq": 1.5])
        guard case .reply(4, .success(.null)) = try single(#"{"id": 4, "result": null}"#) else { throw CodecTestError.unexpected }
        guard case .reply(6, .failure(let error)) = try single(#"{"id": 6, "error": {"type": "ValueError", "message": "bad"}}"#) else {
            throw CodecTestError.unexpected
        }
        #expect(error.message == "ValueError: bad")
        guard case .reply(8, .failure(let routeError)) = try single(#"{"id": 8, "error": "Route not found", "result": null}"#) else {
            throw CodecTestError.unexpected
        }
        #expect(routeError.message == "Route not found")
    }

    @Test("bad text gets an error with a null id; the connection goes on")
    func badInput() throws {
        guard case .invalid(let error, let address) = try single("nope") else { throw CodecTestError.unexpected }
        #expect(try encoded { codec.encodeError(error, for: address, into: &$0) } == ["id": nil, "error": ["type": "JSONDecodeError", "message": "JSON string expected"]])
        guard case .invalid(let list, _) = try single("[1]") else { throw CodecTestError.unexpected }
        #expect(list.code == RPCError.Code.invalidRequest)
    }

    @Test("replies and calls as both shipped clients read them")
    func encoding() throws {
        let address = RPCReplyAddress(rawID: ByteBuffer(string: "7"))
        #expect(try encoded { codec.encodeResult(RawJSON(unchecked: ByteBuffer(string: "42")), for: address, into: &$0) } == ["id": 7, "result": 42])
        #expect(try encoded { codec.encodeError(.unknownMethod("divide"), for: address, into: &$0) } == [
            "id": 7, "error": ["type": "NotImplementedError", "message": "method: divide method not available"],
        ])
        #expect(try encoded { codec.encodeError(.invalidParameter("key", "required"), for: address, into: &$0) }["error"]?["type"] == "TypeError")
        #expect(try encoded { codec.encodeError(RPCError(code: -32602, message: "no such key", exceptionType: "KeyError"), for: address, into: &$0) }["error"] == ["type": "KeyError", "message": "no such key"])
        #expect(try encoded { codec.encodeCall(serial: 2, method: "multiply", params: ["x": 10, "y": 20], into: &$0) } == [
            "id": 2, "method": "multiply", "params": ["x": 10, "y": 20],
        ])
        // Events carry no id: both clients hand them to their event listeners.
        #expect(try encoded { codec.encodeEvent(["id": 1, "hello": "world"], into: &$0) } == ["hello": "world"])
        #expect(codec.firstCallSerial == 2)
        #expect(codec.callSerialStep == 2)
        #expect(codec.keepaliveMethod == "ping")
    }
}
