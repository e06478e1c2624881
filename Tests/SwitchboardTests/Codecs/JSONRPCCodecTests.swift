import NIOCore
import Testing

@testable import Switchboard

/// The JSON-RPC 2.0 codec on its own: every error row of docs/jsonrpc.md, batches, params, ids.
@Suite("JSON-RPC codec")
struct JSONRPCCodecTests {
    let codec = JSONRPCCodec()

    func decode(_ text: String) -> RPCFrame { codec.decode(ByteBuffer(string: text)) }

    func single(_ text: String) throws -> RPCInboundMessage {
        guard case .single(let message) = decode(text) else {
            Issue.record("expected one message for \(text)")
            throw CodecTestError.unexpected
        }
        return message
    }

    /// The error reply the node would send for `text`.
    func errorReply(_ text: String) throws -> JSONValue {
        guard case .invalid(let error, let address) = try single(text) else { throw CodecTestError.unexpected }
        var buffer = ByteBuffer()
        codec.encodeError(error, for: address, into: &buffer)
        return try JSONValue(parsing: String(buffer: buffer))
    }

    @Test("text that is not JSON: -32700 without an id")
    func parseError() throws {
        for text in ["not json", "", "{\"jsonrpc\": \"2.0\",", "[1,"] {
            let reply = try errorReply(text)
            #expect(reply["error"]?["code"] == -32700, "\(text)")
            #expect(reply["error"] == ["code": -32700, "message": "Invalid JSON was received"])
            #expect(reply["id"] == nil)
            #expect(reply["jsonrpc"] == "2.0")
        }
    }

    @Test("JSON that is no request: -32600, with the id when it can be read")
    func invalidRequests() throws {
        let cases: [(String, JSONValue?)] = [
            ("42", nil),
            ("\"text\"", nil),
            ("null", nil),
            (#"{"id": 1, "method": "info"}"#, 1),  // no "jsonrpc"
            (#"{"jsonrpc": "1.0", "id": "a", "method": "info"}"#, "a"),
            (#"{"jsonrpc": 2.0, "id": 7, "method": "info"}"#, 7),
            (#"{"jsonrpc": "2.0", "id": 2, "method": 5}"#, 2),
            (#"{"jsonrpc": "2.0", "id": 3}"#, 3),
            (#"{"jsonrpc": "2.0", "id": 4, "method": "x", "result": 1}"#, 4),
            (#"{"jsonrpc": "2.0", "id": 5, "result": 1, "error": {}}"#, 5),
        ]
        for (text, id) in cases {
            let reply = try errorReply(text)
            #expect(reply["error"] == ["code": -32600, "message": "Invalid request"], "\(text)")
            #expect(reply["id"] == id, "\(text)")
        }
    }

    @Test("requests: params by name, by position, a single value, none")
    func params() throws {
        func params(_ text: String) throws -> RPCParams {
            guard case .request(let request) = try single(text) else { throw CodecTestError.unexpected }
            return request.params
        }
        guard case .object(let object) = try params(#"{"jsonrpc":"2.0","id":1,"method":"m","params":{"a":1}}"#) else { throw CodecTestError.unexpected }
        #expect(RawJSON(unchecked: object).value == ["a": 1])
        guard case .array(let values) = try params(#"{"jsonrpc":"2.0","id":1,"method":"m","params":[1,"b"]}"#) else { throw CodecTestError.unexpected }
        #expect(values == [1, "b"])
        guard case .value(let value) = try params(#"{"jsonrpc":"2.0","id":1,"method":"m","params":"news"}"#) else { throw CodecTestError.unexpected }
        #expect(value == "news")
        guard case .none = try params(#"{"jsonrpc":"2.0","id":1,"method":"m"}"#) else { throw CodecTestError.unexpected }
        guard case .none = try params(#"{"jsonrpc":"2.0","id":1,"method":"m","params":null}"#) else { throw CodecTestError.unexpected }
    }

    @Test("positions are mapped onto the method's parameter names; positions past the last are dropped")
    func byName() throws {
        #expect(try RPCParams.array(["news", [1]]).byName(["channel", "data", "event"]) == ["channel": "news", "data": [1]])
        #expect(try RPCParams.value("news").byName(["channel"]) == ["channel": "news"])
        #expect(try RPCParams.array(["a", "b"]).byName(["channel"]) == ["channel": "a"])
        #expect(throws: RPCError.invalidParameter("params", "this method takes its parameters by name")) {
            try RPCParams.array(["a"]).byName([])
        }
    }

    @Test("ids of every JSON type are echoed as sent (numbers to the letter); a null or missing id is a notification")
    func ids() throws {
        for id in [#""a""#, "1", "1.50", "-0", "1e3", "true", #"{"a":[1]}"#, "[1,2]", #""""#, "12345678901234567890", #""\u00e9""#] {
            guard case .request(let request) = try single(#"{"jsonrpc":"2.0","id": \#(id) ,"method":"m"}"#) else { throw CodecTestError.unexpected }
            #expect(!request.isNotification)
            var buffer = ByteBuffer()
            codec.encodeResult(RawJSON(unchecked: ByteBuffer(string: "null")), for: request.address, into: &buffer)
            let reply = try JSONValue(parsing: String(buffer: buffer))
            #expect(reply["id"] == (try JSONValue(parsing: id)), "\(id)")
            if !id.hasPrefix("{"), !id.hasPrefix("["), !id.hasPrefix("\"\\") {
                #expect(String(buffer: buffer) == #"{"jsonrpc":"2.0","id":\#(id),"result":null}"#)
            }
        }
        for text in [#"{"jsonrpc":"2.0","method":"m"}"#, #"{"jsonrpc":"2.0","id":null,"method":"m"}"#] {
            guard case .request(let request) = try single(text) else { throw CodecTestError.unexpected }
            #expect(request.isNotification)
        }
    }

    @Test("batches: one message each; an empty batch is -32600")
    func batches() throws {
        guard case .batch(let messages) = decode(#"[{"jsonrpc":"2.0","id":1,"method":"a"}, 5, {"jsonrpc":"2.0","method":"n"}]"#) else {
            throw CodecTestError.unexpected
        }
        #expect(messages.count == 3)
        guard case .request = messages[0], case .invalid(let error, _) = messages[1], case .request(let note) = messages[2] else {
            throw CodecTestError.unexpected
        }
        #expect(error.code == -32600)
        #expect(note.isNotification)
        let empty = try errorReply("[]")
        #expect(empty["error"]?["code"] == -32600)
        #expect(empty["id"] == nil)
        var buffer = ByteBuffer()
        codec.encodeBatch([ByteBuffer(string: "{\"a\":1}"), ByteBuffer(string: "{\"b\":2}")], into: &buffer)
        #expect(String(buffer: buffer) == #"[{"a":1},{"b":2}]"#)
    }

    @Test("answers to the node's calls: results and errors")
    func replies() throws {
        guard case .reply(let serial, .success(let value)) = try single(#"{"jsonrpc":"2.0","id":3,"result":{"x":1}}"#) else {
            throw CodecTestError.unexpected
        }
        #expect(serial == 3)
        #expect(value == ["x": 1])
        guard case .reply(4, .failure(let error)) = try single(#"{"jsonrpc":"2.0","id":4,"error":{"code":-32601,"message":"Method not found"}}"#) else {
            throw CodecTestError.unexpected
        }
        #expect(error.code == -32601)
        #expect(error.message == "Method not found")
        guard case .ignored = try single(#"{"jsonrpc":"2.0","id":"x","result":1}"#) else { throw CodecTestError.unexpected }
    }

    @Test("errors: the node's own standard errors in aiohttp-json-rpc's words without data; an application's errors as thrown")
    func errors() throws {
        func encode(_ error: RPCError, id: String? = "1") throws -> JSONValue {
            var buffer = ByteBuffer()
            codec.encodeError(error, for: RPCReplyAddress(rawID: id.map { ByteBuffer(string: $0) }), into: &buffer)
            return try JSONValue(parsing: String(buffer: buffer))
        }
        #expect(try encode(.invalidParameters([("data", "required"), ("channel", "not valid type")])) == [
            "jsonrpc": "2.0", "error": ["code": -32602, "message": "Invalid params"], "id": 1,
        ])
        #expect(try encode(.unknownMethod("x"))["error"] == ["code": -32601, "message": "Method not found"])
        #expect(try encode(.internalError)["error"] == ["code": -32603, "message": "Internal Error"])
        #expect(try encode(.notJSON)["error"] == ["code": -32700, "message": "Invalid JSON was received"])
        #expect(try encode(.batchTooLarge(limit: 100))["error"] == ["code": -32600, "message": "Invalid request"])
        #expect(try encode(RPCError(code: -32050, message: "Computer says no."))["error"] == ["code": -32050, "message": "Computer says no."])
        // An application's own message on a standard code wins, with its data.
        #expect(try encode(RPCError(code: -32602, message: "'a' has to be 'int'"))["error"] == ["code": -32602, "message": "'a' has to be 'int'"])
        #expect(try encode(RPCError(code: -32603, message: "db down", data: ["retry": true]))["error"] == ["code": -32603, "message": "db down", "data": ["retry": true]])
        // A refusal that says why keeps its reason.
        let refused = try encode(.channelRefused(.cannotPublish, reason: "the broker is down"))
        #expect(refused["error"]?["data"] == ["channel": "Cannot publish to channel", "reason": "the broker is down"])
    }

    @Test("topic messages and calls to the client")
    func outgoing() throws {
        var buffer = ByteBuffer()
        ChannelMessageText.write(format: .jsonRPC, channel: "news", event: "e", rawData: ByteBuffer(string: #"{"a":1}"#), into: &buffer)
        #expect(String(buffer: buffer) == #"{"jsonrpc":"2.0","method":"news","params":{"a":1}}"#)
        buffer.clear()
        codec.encodeCall(serial: 0, method: "confirm", params: ["message": "ok?"], into: &buffer)
        #expect(try JSONValue(parsing: String(buffer: buffer)) == ["jsonrpc": "2.0", "id": 0, "method": "confirm", "params": ["message": "ok?"]])
    }

    @Test("a notification or a call without data has no params, as aiohttp-json-rpc sends them")
    func noParams() throws {
        var buffer = ByteBuffer()
        ChannelMessageText.write(format: .jsonRPC, channel: "news", event: nil, rawData: ByteBuffer(string: "null"), into: &buffer)
        #expect(String(buffer: buffer) == #"{"jsonrpc":"2.0","method":"news"}"#)
        buffer.clear()
        codec.encodeCall(serial: 3, method: "ping", params: .null, into: &buffer)
        #expect(String(buffer: buffer) == #"{"jsonrpc":"2.0","id":3,"method":"ping"}"#)
        buffer.clear()
        codec.encodeNotification(method: "tick", params: .null, into: &buffer)
        #expect(String(buffer: buffer) == #"{"jsonrpc":"2.0","method":"tick"}"#)
    }
}

enum CodecTestError: Error {
    case unexpected
}
