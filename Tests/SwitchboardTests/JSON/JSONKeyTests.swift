import NIOCore
import Testing

@testable import Switchboard

@Suite("JSONKey")
struct JSONKeyTests {
    /// The names `forEachMember` reports, matched by a `switch` as the decoders do.
    static func matched(_ text: String) throws -> [String] {
        var found: [String] = []
        let bytes = Array(text.utf8)
        try bytes.withUnsafeBytes { raw in
            try JSONParser.forEachMember(in: raw) { key, _ in
                switch key {
                case "data": found.append("data")
                case "event": found.append("event")
                case "": found.append("(empty)")
                default: found.append("other:\(key)")
                }
            }
        }
        return found
    }

    @Test("keys match names by their bytes, not by a prefix or a longer name")
    func plainKeys() throws {
        #expect(try Self.matched(#"{"data":1,"event":null,"dat":2,"datas":3,"":4,"Data":5}"#) == ["data", "event", "other:dat", "other:datas", "(empty)", "other:Data"])
    }

    @Test("a key written with escapes matches what it means")
    func escapedKeys() throws {
        #expect(try Self.matched(#"{"d\u0061ta":1,"\u0065vent":null,"da\"ta":2}"#) == ["data", "event", "other:da\"ta"])
    }

    @Test("a broker payload whose keys are escaped is read like a plain one")
    func escapedBrokerPayload() throws {
        let message = try BrokerPayload.decodeMessage(ByteBuffer(string: #"{"\u0065vent":"e","d\u0061ta":[1]}"#))
        #expect(message.event == "e")
        #expect(String(buffer: message.rawData) == "[1]")
    }
}
