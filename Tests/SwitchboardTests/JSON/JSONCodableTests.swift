import Testing

@testable import Switchboard

@Suite("Codable payloads")
struct JSONCodableTests {
    struct Address: Codable, Equatable {
        var city: String
        var zip: Int
    }

    struct Order: Codable, Equatable {
        var id: String
        var quantity: Int
        var note: String?
        var address: Address
        var tags: [String]
    }

    @Test("decodes a valid payload, numbers exactly")
    func decodes() throws {
        let value = try JSONValue(parsing: #"{"id": "o1", "quantity": 3, "address": {"city": "Oslo", "zip": 150}, "tags": ["a"]}"#)
        let order = try JSONValueDecoder().decode(Order.self, from: value)
        #expect(order == Order(id: "o1", quantity: 3, note: nil, address: Address(city: "Oslo", zip: 150), tags: ["a"]))
    }

    @Test("reports every failing field at once")
    func collectsErrors() throws {
        let value = try JSONValue(parsing: #"{"quantity": "three", "address": {"zip": 1.5}, "tags": ["a", 2]}"#)
        do {
            _ = try JSONValueDecoder().decode(Order.self, from: value)
            Issue.record("decoding should fail")
        } catch let error as RPCError {
            #expect(error.message == "Invalid RPC parameters")
            #expect(error.errors == [
                "id": "required", "quantity": "not valid type", "address.city": "required",
                "address.zip": "not valid type", "tags.1": "not valid type",
            ])
        }
    }

    @Test("an integer out of range is not valid")
    func range() throws {
        struct Small: Codable { var n: UInt8 }
        #expect(throws: RPCError.self) { try JSONValueDecoder().decode(Small.self, from: ["n": 300]) }
        #expect(throws: RPCError.self) { try JSONValueDecoder().decode(Small.self, from: ["n": -1]) }
    }

    @Test("encodes results in declaration order, JSON values as they are")
    func encodes() throws {
        struct Result: Encodable {
            var ok: Bool
            var count: Int
            var items: [String]
            var extra: JSONValue
            var missing: String?
        }
        let value = try JSONValueEncoder().encode(Result(ok: true, count: 2, items: ["x"], extra: ["big": .number(JSONNumber(literal: "123456789012345678901234567890")!)], missing: nil))
        #expect(value.jsonString == #"{"ok":true,"count":2,"items":["x"],"extra":{"big":123456789012345678901234567890}}"#)
    }
}
